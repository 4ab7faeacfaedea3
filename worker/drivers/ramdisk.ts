/**
 * A network-booted ramdisk as LAVA's tftp deploy prepares it: the U-Boot header
 * taken off (`header: u-boot`), the cpio decompressed, the job's additions put in,
 * compressed again as it came and, for a device whose template says
 * `add_header: u-boot`, wrapped by `mkimage` again.
 *
 * LAVA unpacks the cpio to a directory and packs it again, which needs root for
 * the device nodes a ramdisk holds. Basalt appends the additions (the overlay, the
 * modules) as further cpio archives instead: Linux unpacks concatenated archives
 * one after the other, later files winning, so the result on the device is the
 * same without unpacking anything.
 */
import { cpioArchive } from "../overlay/cpio.ts";
import { type Compression, decompress } from "./download.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";

/** The legacy U-Boot image header: 64 bytes starting with this magic. */
export const UBOOT_MAGIC = 0x27051956;
export const UBOOT_HEADER_BYTES = 64;

/** Compressors as Linux can unpack an initramfs: xz must use CRC32 checks, not xz's default CRC64. */
const COMPRESSORS: Record<Exclude<Compression, "gz" | "zip">, string[]> = {
  xz: ["xz", "--check=crc32", "-c"],
  bz2: ["bzip2", "-c"],
  zstd: ["zstd", "-q", "-c"],
};

export interface RamdiskFormat {
  readonly compression?: Compression;
  /** `u-boot` when the file starts with a legacy U-Boot header. */
  readonly header?: string;
}

/** Whether `path` starts with a legacy U-Boot image header. */
export async function hasUbootHeader(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  try {
    const head = new Uint8Array(4);
    const n = await file.read(head);
    return n === 4 && new DataView(head.buffer).getUint32(0) === UBOOT_MAGIC;
  } finally {
    file.close();
  }
}

/**
 * Writes the bare cpio of the ramdisk at `source` to `target`: the U-Boot header
 * skipped when the job says there is one, decompressed as the job says, within `maxBytes`.
 */
export async function extractRamdisk(
  source: string,
  target: string,
  format: RamdiskFormat,
  maxBytes: number,
  what: string,
): Promise<void> {
  if (format.header !== undefined && format.header !== "u-boot") {
    throw new JobError(`${what}.header: unknown header ${JSON.stringify(format.header)} (only u-boot)`);
  }
  if (format.header === "u-boot" && !(await hasUbootHeader(source))) {
    throw new JobError(`${what}: the ramdisk is declared "header: u-boot" but has no U-Boot image header`);
  }
  const input = await Deno.open(source);
  if (format.header === "u-boot") await input.seek(UBOOT_HEADER_BYTES, Deno.SeekMode.Start);
  const output = await Deno.open(target, { write: true, create: true, truncate: true });
  const tooLarge = () => new JobError(`${what}: the ramdisk is larger than ${maxBytes} bytes once decompressed`);
  if (format.compression && format.compression !== "zip") {
    await decompress(input.readable, output.writable, format.compression, what, { bytes: maxBytes, error: tooLarge });
  } else {
    if (format.compression === "zip") throw new JobError(`${what}.compression: a ramdisk cannot be a zip file`);
    await input.readable.pipeTo(output.writable);
  }
}

/**
 * Appends the tree at `root` to the bare cpio `ramdisk` as another archive, starting
 * 4-byte aligned (Linux skips the zeros between archives). Returns the bytes added.
 */
export async function appendTree(ramdisk: string, root: string): Promise<number> {
  const archive = await cpioArchive(root);
  const size = (await Deno.stat(ramdisk)).size;
  const padding = new Uint8Array((4 - (size % 4)) % 4);
  const file = await Deno.open(ramdisk, { write: true, append: true });
  try {
    for (const chunk of [padding, archive]) {
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
  } finally {
    file.close();
  }
  return padding.length + archive.length;
}

/** Compresses the bare cpio `source` into `target` as the job's ramdisk came. */
export async function compressRamdisk(source: string, target: string, compression: Compression | undefined) {
  if (!compression) {
    await Deno.copyFile(source, target);
    return;
  }
  const input = await Deno.open(source);
  const output = await Deno.open(target, { write: true, create: true, truncate: true });
  if (compression === "gz") {
    await input.readable.pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    )
      .pipeTo(output.writable);
    return;
  }
  if (compression === "zip") throw new JobError(`a ramdisk cannot be compressed as zip`);
  const [tool, ...args] = COMPRESSORS[compression];
  const child = spawn(tool, args, "stdin");
  const stderr = new Response(child.stderr).text();
  await Promise.all([input.readable.pipeTo(child.stdin), child.stdout.pipeTo(output.writable)]);
  const status = await child.status;
  if (!status.success) {
    throw new InfrastructureError(`${tool} could not compress the ramdisk: ${(await stderr).trim()}`);
  }
}

/** Wraps `source` in a legacy U-Boot ramdisk header with Debian's `mkimage` (u-boot-tools), as LAVA does. */
export async function addUbootHeader(source: string, target: string, arch: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(arch)) {
    throw new InfrastructureError(`device configuration mkimage_arch: ${JSON.stringify(arch)} is not an architecture`);
  }
  const child = spawn("mkimage", ["-A", arch, "-T", "ramdisk", "-C", "none", "-d", source, target], "none");
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  if (!status.success) throw new InfrastructureError(`Unable to add uboot header to ramdisk: ${stderr.trim()}`);
}

function spawn(tool: string, args: string[], stdin: "stdin" | "none") {
  try {
    return new Deno.Command(tool, {
      args,
      stdin: stdin === "stdin" ? "piped" : "null",
      stdout: stdin === "stdin" ? "piped" : "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new InfrastructureError(`${tool} is needed to prepare the ramdisk: ${(error as Error).message}`);
  }
}
