/**
 * Unpacking a tar archive a job downloaded (LAVA's `archive: tar`), with GNU tar,
 * after reading its listing: a member that is absolute, climbs out with `..`, is a
 * link pointing outside, or a device node is refused before anything is written,
 * and the unpacked size is bounded like a download. A root filesystem for a device
 * (an NFS root) is unpacked as the device sees it: owners, modes, device nodes and
 * absolute links kept — GNU tar puts a placeholder file where such a link would be
 * until the end, so no later member is written through it onto the worker.
 */
import { JobError } from "../job/errors.ts";
import { formatBytes } from "./download.ts";

interface Member {
  readonly type: string;
  readonly size: number;
  readonly name: string;
  readonly link?: string;
}

/** GNU tar's `-tv --numeric-owner --quoting-style=escape` lines: "-rw-r--r-- 0/0 12 2026-01-01 00:00 name". */
function parseListing(text: string): Member[] {
  const members: Member[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const match = /^(\S)\S*\s+\S+\s+(\d+)(?:,\s*\d+)?\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!match) throw new JobError(`the archive lists a member tar cannot describe: ${line.slice(0, 120)}`);
    const [, type, size, rest] = match;
    const link = type === "l" ? rest.split(" -> ") : type === "h" ? rest.split(" link to ") : [rest];
    members.push({ type, size: Number(size), name: link[0], ...(link.length > 1 ? { link: link[1] } : {}) });
  }
  return members;
}

const climbs = (path: string) => path.split("/").includes("..");

async function tar(args: string[]): Promise<string> {
  const output = await new Deno.Command("tar", { args, stdout: "piped", stderr: "piped" }).output().catch((error) => {
    throw new JobError(`tar is needed to unpack an archive: ${error.message}`);
  });
  if (!output.success) {
    throw new JobError(`tar ${args[0]} failed: ${new TextDecoder().decode(output.stderr).trim().slice(0, 400)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** Whether `path` is a tar archive GNU tar can read (a test definition may be one, or a plain YAML file). */
export async function isTarArchive(path: string): Promise<boolean> {
  const output = await new Deno.Command("tar", { args: ["-tf", path], stdout: "null", stderr: "null" }).output()
    .catch(() => undefined);
  return output?.success ?? false;
}

/**
 * Reads the archive's listing and refuses, before anything is written, a member
 * named outside it, one `allowed` does not list (tar's type letters), and more
 * than `maxBytes` in all; `refused` says why a kind is refused.
 */
async function checkedListing(
  archive: string,
  maxBytes: number,
  what: string,
  allowed: string,
  refused: (member: Member) => string,
): Promise<Member[]> {
  const members = parseListing(await tar(["-tvf", archive, "--numeric-owner", "--quoting-style=escape"]));
  let total = 0;
  for (const member of members) {
    const name = member.name;
    if (name.startsWith("/") || climbs(name)) throw new JobError(`${what}: the archive member ${name} is outside it`);
    if (!allowed.includes(member.type)) throw new JobError(`${what}: the archive member ${name} ${refused(member)}`);
    total += member.size;
    if (total > maxBytes) throw new JobError(`${what}: the archive unpacks to more than ${formatBytes(maxBytes)}`);
  }
  return members;
}

/**
 * Unpacks `archive` into `directory` (created), dropping `stripComponents` leading
 * directories as tar's --strip-components does, or refuses it naming the member and `what`.
 */
export async function unpackTar(
  archive: string,
  directory: string,
  maxBytes: number,
  what: string,
  stripComponents = 0,
): Promise<void> {
  const members = await checkedListing(
    archive,
    maxBytes,
    what,
    "-dlh",
    (m) => `is a special file (${m.type}); only files, directories and links`,
  );
  for (const member of members) {
    if (member.link !== undefined && (member.link.startsWith("/") || climbs(member.link))) {
      throw new JobError(`${what}: the archive member ${member.name} links outside it (${member.link})`);
    }
  }
  await Deno.mkdir(directory, { recursive: true });
  await tar([
    "-xf",
    archive,
    "-C",
    directory,
    "--no-same-owner",
    "--no-same-permissions",
    "--delay-directory-restore",
    ...(stripComponents > 0 ? [`--strip-components=${stripComponents}`] : []),
  ]);
}

/**
 * Unpacks a device's root filesystem `archive` into `directory` (created) with its
 * owners, permissions, device nodes and links, as the device will see it. Names are
 * still kept inside the directory and the unpacked size is bounded.
 */
export async function unpackRootfs(archive: string, directory: string, maxBytes: number, what: string): Promise<void> {
  await checkedListing(archive, maxBytes, what, "-dlhcbp", () => "is of a kind a root filesystem does not hold");
  await Deno.mkdir(directory, { recursive: true });
  await tar([
    "-xf",
    archive,
    "-C",
    directory,
    "--numeric-owner",
    "--same-owner",
    "--same-permissions",
    "--delay-directory-restore",
  ]);
}
