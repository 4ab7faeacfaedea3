/**
 * Copying a tree the dispatcher built (the test overlay, kernel modules) into a
 * root filesystem a job supplied (an NFS root). The root is hostile: a link where
 * a directory of the tree goes would send the copy onto the worker's own files, so
 * every directory on the way must be a real one, and a link or file in the way of
 * a file is replaced, never written through.
 */
import { join } from "node:path";
import { JobError } from "../job/errors.ts";

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Copies everything under `source` into `root` (`what` names the root in errors); returns the bytes copied. */
export async function mergeTree(source: string, root: string, what: string, under = ""): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(join(source, under))) {
    const name = join(under, entry.name);
    const from = join(source, name);
    const to = join(root, name);
    const there = await lstatOrUndefined(to);
    const info = await Deno.lstat(from);
    if (info.isDirectory) {
      if (there && !there.isDirectory) {
        throw new JobError(`${what}: /${name} is ${there.isSymlink ? "a link" : "a file"}, where a directory must go`);
      }
      if (!there) await Deno.mkdir(to, { mode: info.mode! & 0o7777 });
      bytes += await mergeTree(source, root, what, name);
      continue;
    }
    if (there?.isDirectory) throw new JobError(`${what}: /${name} is a directory, where a file must go`);
    if (there) await Deno.remove(to);
    if (info.isSymlink) {
      await Deno.symlink(await Deno.readLink(from), to);
    } else {
      await Deno.copyFile(from, to);
      await Deno.chmod(to, info.mode! & 0o7777);
      bytes += info.size;
    }
  }
  return bytes;
}
