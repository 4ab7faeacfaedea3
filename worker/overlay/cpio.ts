/**
 * A "newc" cpio archive of a directory tree, gzipped: the format Linux unpacks
 * as an initramfs. Appended to a job's initrd, it puts the test overlay on the
 * device in milliseconds — no disk image to build, no guest tools.
 */
import { join, relative } from "../../actors/path.ts";
import { concatBytes } from "../../actors/bytes.ts";

interface Entry {
  name: string;
  mode: number;
  data: Uint8Array;
}

const encoder = new TextEncoder();
const hex = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

async function collect(root: string, dir: string, entries: Entry[]): Promise<void> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry);
  // Code-unit order: the same archive on every machine, and no collator to load (localeCompare's costs a
  // dispatcher ~10 ms of its start).
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of names) {
    const path = join(dir, entry.name);
    const name = relative(root, path);
    const info = await Deno.lstat(path);
    const permissions = (info.mode ?? 0o644) & 0o7777;
    if (info.isSymlink) {
      entries.push({ name, mode: 0o120000 | 0o777, data: encoder.encode(await Deno.readLink(path)) });
    } else if (info.isDirectory) {
      entries.push({ name, mode: 0o040000 | permissions, data: new Uint8Array() });
      await collect(root, path, entries);
    } else if (info.isFile) {
      entries.push({ name, mode: 0o100000 | permissions, data: await Deno.readFile(path) });
    }
  }
}

/** The cpio (newc) archive of everything under `root`, paths relative to it, owned by root. */
export async function cpioArchive(root: string): Promise<Uint8Array> {
  const entries: Entry[] = [];
  await collect(root, root, entries);
  const chunks: Uint8Array[] = [];
  let ino = 1;
  const push = (entry: Entry) => {
    const name = encoder.encode(`${entry.name}\0`);
    const header = "070701" + [
      ino++,
      entry.mode,
      0, // uid
      0, // gid
      1, // nlink
      0, // mtime: reproducible archives
      entry.data.length,
      0,
      0,
      0,
      0,
      name.length,
      0,
    ].map(hex).join("");
    chunks.push(encoder.encode(header), name, new Uint8Array(pad4(110 + name.length)));
    chunks.push(entry.data, new Uint8Array(pad4(entry.data.length)));
  };
  for (const entry of entries) push(entry);
  push({ name: "TRAILER!!!", mode: 0, data: new Uint8Array() });
  return concatBytes(chunks);
}

export async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  // Read straight from the compressor: a Response would load the fetch machinery into every dispatcher.
  const compressor = new CompressionStream("gzip");
  const writer = compressor.writable.getWriter();
  const written = writer.write(data).then(() => writer.close());
  const chunks: Uint8Array[] = [];
  const reader = compressor.readable.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
  await written;
  return concatBytes(chunks);
}

/**
 * Appends `root` as a gzipped cpio segment to the initramfs at `initrd`. The
 * kernel unpacks concatenated compressed archives one after the other; only
 * uncompressed ones must start 4-byte aligned, so no padding goes between.
 */
export async function appendToInitramfs(initrd: string, root: string): Promise<number> {
  const archive = await gzip(await cpioArchive(root) as Uint8Array<ArrayBuffer>);
  const file = await Deno.open(initrd, { write: true, append: true });
  try {
    let written = 0;
    while (written < archive.length) written += await file.write(archive.subarray(written));
  } finally {
    file.close();
  }
  return archive.length;
}
