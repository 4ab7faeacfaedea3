/**
 * Copying a tree the dispatcher built (the test overlay, kernel modules) into a
 * root filesystem a job supplied (an NFS root). The root is hostile: its links are
 * followed only as the device would follow them — absolute ones from the root's
 * own `/`, `..` stopping there — so a merged-/usr root's `/lib -> usr/lib` takes the
 * modules where the device looks for them, while no link can send the copy onto
 * the worker's own files. A link or file in the way of a file is replaced, never
 * written through, and every file is created anew (O_EXCL).
 */
import { join } from "../../actors/path.ts";
import { JobError } from "../job/errors.ts";

/** Links followed on the way to one directory before giving up (Linux's own limit). */
const MAX_LINKS = 40;

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    // A path through a file leads to nothing, as one through a missing directory does.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return undefined;
    throw error;
  }
}

/**
 * Where `name` (components from the root's `/`) leads inside `root`, links
 * followed as the device follows them; undefined when it leads to nothing.
 * Every component of the result is a real directory under `root`.
 */
export async function resolveInRoot(root: string, name: string, what: string): Promise<string | undefined> {
  const pending = name.split("/").filter((part) => part !== "" && part !== ".");
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const path = join(root, ...done, part);
    const info = await lstatOrUndefined(path);
    if (!info) return undefined;
    if (info.isSymlink) {
      if (++links > MAX_LINKS) throw new JobError(`${what}: /${name} goes through too many links`);
      const target = await Deno.readLink(path);
      if (target.startsWith("/")) done.length = 0;
      pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

async function copyNew(from: string, to: string, mode: number): Promise<void> {
  const source = await Deno.open(from, { read: true });
  // createNew: should anything have appeared at `to` since it was removed, nothing is written through it.
  const target = await Deno.open(to, { write: true, createNew: true, mode }).catch((error) => {
    source.close();
    throw error;
  });
  await source.readable.pipeTo(target.writable);
  // The mode given at creation is narrowed by the umask; the file is the one just created, in a directory
  // only the worker may reach (see nfs_root.ts).
  await Deno.chmod(to, mode);
}

/** Copies everything under `source` into `root` (`what` names the root in errors); returns the bytes copied. */
export function mergeTree(source: string, root: string, what: string): Promise<number> {
  return mergeInto(source, root, root, what, "");
}

async function mergeInto(source: string, root: string, into: string, what: string, under: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(join(source, under))) {
    const name = join(under, entry.name);
    const from = join(source, name);
    const to = join(into, entry.name);
    const there = await lstatOrUndefined(to);
    const info = await Deno.lstat(from);
    if (info.isDirectory) {
      if (there?.isSymlink) {
        const inRoot = to.slice(root.length);
        const real = await resolveInRoot(root, inRoot, what);
        const isDirectory = real !== undefined && (await lstatOrUndefined(real))?.isDirectory;
        if (!isDirectory) {
          throw new JobError(`${what}: ${inRoot} is a link to ${await Deno.readLink(to)}, not to a directory of it`);
        }
        bytes += await mergeInto(source, root, real, what, name);
        continue;
      }
      if (there && !there.isDirectory) {
        throw new JobError(`${what}: ${to.slice(root.length)} is a file, where a directory must go`);
      }
      if (!there) await Deno.mkdir(to, { mode: info.mode! & 0o7777 });
      bytes += await mergeInto(source, root, to, what, name);
      continue;
    }
    if (there?.isDirectory) {
      throw new JobError(`${what}: ${to.slice(root.length)} is a directory, where a file must go`);
    }
    if (there) await Deno.remove(to);
    if (info.isSymlink) {
      await Deno.symlink(await Deno.readLink(from), to);
    } else {
      await copyNew(from, to, info.mode! & 0o7777);
      bytes += info.size;
    }
  }
  return bytes;
}
