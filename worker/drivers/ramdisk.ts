/**
 * A network-booted ramdisk as LAVA's tftp deploy prepares it: the U-Boot header
 * taken off (`header: u-boot`), the job's additions put in and, for a device whose
 * template says `add_header: u-boot`, wrapped by `mkimage` again.
 *
 * LAVA decompresses the cpio, unpacks it to a directory (which needs root for the
 * device nodes a ramdisk holds), adds to it and packs and compresses it again.
 * Basalt appends the additions (the overlay, the modules) as gzipped cpio archives
 * of their own after the ramdisk as it came: Linux unpacks concatenated archives,
 * each compressed its own way, one after the other, later files winning, so the
 * device gets the same files without the ramdisk being decompressed or compressed
 * again.
 */
import type { Compression } from "./download.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";

/** The legacy U-Boot image header: 64 bytes starting with this magic. */
export const UBOOT_MAGIC = 0x27051956;
export const UBOOT_HEADER_BYTES = 64;

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
 * Copies the ramdisk at `source` to `target` as the kernel will unpack it: without
 * the U-Boot header when the job says there is one (refused when there is none).
 * Its compression is kept: what is added goes after it as archives of their own.
 */
export async function ramdiskBody(source: string, target: string, format: RamdiskFormat, what: string): Promise<void> {
  if (format.header !== undefined && format.header !== "u-boot") {
    throw new JobError(`${what}.header: unknown header ${JSON.stringify(format.header)} (only u-boot)`);
  }
  if (format.compression === "zip") throw new JobError(`${what}.compression: a ramdisk cannot be a zip file`);
  if (format.header === "u-boot" && !(await hasUbootHeader(source))) {
    throw new JobError(`${what}: the ramdisk is declared "header: u-boot" but has no U-Boot image header`);
  }
  const input = await Deno.open(source);
  if (format.header === "u-boot") await input.seek(UBOOT_HEADER_BYTES, Deno.SeekMode.Start);
  const output = await Deno.open(target, { write: true, create: true, truncate: true });
  await input.readable.pipeTo(output.writable);
}

/** Wraps `source` in a legacy U-Boot ramdisk header with Debian's `mkimage` (u-boot-tools), as LAVA does. */
export async function addUbootHeader(source: string, target: string, arch: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(arch)) {
    throw new InfrastructureError(`device configuration mkimage_arch: ${JSON.stringify(arch)} is not an architecture`);
  }
  const child = spawn("mkimage", ["-A", arch, "-T", "ramdisk", "-C", "none", "-d", source, target]);
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  if (!status.success) throw new InfrastructureError(`Unable to add uboot header to ramdisk: ${stderr.trim()}`);
}

function spawn(tool: string, args: string[]) {
  try {
    return new Deno.Command(tool, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  } catch (error) {
    throw new InfrastructureError(`${tool} is needed to prepare the ramdisk: ${(error as Error).message}`);
  }
}
