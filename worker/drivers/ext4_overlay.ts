/**
 * Writing the test overlay into a job's ext2/3/4 filesystem image (LAVA's
 * `apply-overlay: true` on a fastboot image), with e2fsprogs' `debugfs` instead
 * of a loop mount: the worker's kernel never mounts a filesystem a job supplied
 * (a crafted image is a kernel attack), and no privilege is needed. Every
 * directory, file and link of the overlay is created owned by root with its
 * mode; a name debugfs' command language could misread is refused, naming it.
 */
import { join, relative } from "../../actors/path.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";
import { hasControlCharacters } from "../job/paths.ts";

/** What debugfs' own command parser would read as syntax (control characters cut a command anyway). */
const UNSAFE_NAME = /["\\]/;

/**
 * The debugfs commands that put `tree` at the image's root (its paths as the device will see them); directories in
 * `existing` are there already (debugfs' mkdir over one leaves a stray inode behind).
 */
export async function overlayCommands(tree: string, existing: ReadonlySet<string> = new Set()): Promise<string[]> {
  const commands: string[] = [];
  const quoted = (path: string, what: string) => {
    if (UNSAFE_NAME.test(path) || hasControlCharacters(path)) {
      throw new JobError(`apply-overlay: ${JSON.stringify(what)} has a name debugfs cannot take`);
    }
    return `"${path}"`;
  };
  const own = (target: string, mode: number) => [
    `sif ${target} mode 0${mode.toString(8)}`,
    `sif ${target} uid 0`,
    `sif ${target} gid 0`,
  ];
  const walk = async (dir: string) => {
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const host = join(dir, entry.name);
      const inImage = `/${relative(tree, host)}`;
      const target = quoted(inImage, relative(tree, host));
      const info = await Deno.lstat(host);
      if (info.isSymlink) {
        const link = await Deno.readLink(host);
        commands.push(`rm ${target}`, `symlink ${target} ${quoted(link, relative(tree, host))}`);
      } else if (info.isDirectory) {
        if (!existing.has(inImage)) {
          commands.push(`mkdir ${target}`, ...own(target, 0o40000 | (info.mode ?? 0o755) & 0o7777));
        }
        await walk(host);
      } else if (info.isFile) {
        commands.push(`rm ${target}`, `write ${quoted(host, host)} ${target}`);
        commands.push(...own(target, 0o100000 | (info.mode ?? 0o644) & 0o7777));
      }
    }
  };
  await walk(tree);
  return commands;
}

/** debugfs' complaints that are expected: its banner, a file to replace not there yet. */
const EXPECTED = [/^debugfs [0-9.]+ \(/, /File not found by ext2_lookup/, /^$/];

/** Runs debugfs on `image` with `commands` (writable with `write`); its output. */
async function debugfs(image: string, commands: readonly string[], write: boolean, signal?: AbortSignal) {
  const script = `${image}.debugfs`;
  await Deno.writeTextFile(script, commands.join("\n") + "\n");
  try {
    return await new Deno.Command("debugfs", {
      args: [...(write ? ["-w"] : []), "-f", script, image],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (error) {
    throw new InfrastructureError(`debugfs (e2fsprogs) is needed to apply the overlay: ${error}`);
  } finally {
    await Deno.remove(script).catch(() => {});
  }
}

/** The overlay's directories the image already has (one read-only pass: `stat` of each). */
async function existingDirectories(image: string, tree: string, signal?: AbortSignal): Promise<Set<string>> {
  const dirs: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      const path = join(dir, entry.name);
      const inImage = `/${relative(tree, path)}`;
      // A name debugfs would misread is refused when the commands are made.
      if (UNSAFE_NAME.test(inImage) || hasControlCharacters(inImage)) continue;
      dirs.push(inImage);
      await walk(path);
    }
  };
  await walk(tree);
  if (dirs.length === 0) return new Set();
  const out = await debugfs(image, dirs.map((d) => `stat "${d}"`), false, signal);
  // With -f, debugfs echoes each command ('debugfs: stat "/a"') before what it printed for it.
  const found = new Set<string>();
  for (const block of new TextDecoder().decode(out.stdout).split(/^debugfs: /m)) {
    const path = /^stat "(.*)"$/m.exec(block)?.[1];
    if (path !== undefined && /Type: directory/.test(block)) found.add(path);
  }
  return found;
}

/** Writes `tree` into the filesystem image `image` (a raw ext2/3/4 image, changed in place). */
export async function writeTreeIntoExt4(
  image: string,
  tree: string,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const commands = await overlayCommands(tree, await existingDirectories(image, tree, signal));
  const out = await debugfs(image, commands, true, signal);
  const complaints = new TextDecoder().decode(out.stderr).split("\n").map((l) => l.trim())
    .filter((line) => !EXPECTED.some((expected) => expected.test(line)));
  if (!out.success || complaints.length > 0) {
    const bad = complaints.find((l) => /Bad magic|superblock|Filesystem not open/i.test(l));
    if (bad) throw new JobError(`apply-overlay: ${what} is not an ext2/3/4 filesystem image (${bad})`);
    throw new JobError(
      `apply-overlay: the overlay could not be written into ${what}: ${complaints.slice(0, 3).join("; ")}`,
    );
  }
}
