/**
 * Disk images a job hands QEMU must be self-contained: a qcow2 image's header
 * can name a backing file or an external data file anywhere on the worker
 * (`/var/lib/basalt/worker/...key_secret`), which QEMU would open and show the
 * guest; VMDK descriptors and VHD/VHDX differencing disks do the same. Raw
 * images, and qcow2 images without such references, are what a job may attach.
 */
import { JobError } from "../job/errors.ts";

const ascii = (bytes: Uint8Array, length: number) => new TextDecoder("latin1").decode(bytes.subarray(0, length));

/** The formats that can refer to other files, by their magic. */
const REFERRING_FORMATS: readonly [string, string][] = [
  ["KDMV", "VMDK"],
  ["# Disk DescriptorFile", "VMDK"],
  ["QED\0", "QED"],
  ["conectix", "VHD"],
  ["vhdxfile", "VHDX"],
];

/** The first `size` bytes of a file (fewer when it is shorter): an image's header. */
export async function imageHeader(path: string, size: number): Promise<Uint8Array> {
  const header = new Uint8Array(size);
  const file = await Deno.open(path);
  let length = 0;
  try {
    while (length < header.length) {
      const n = await file.read(header.subarray(length));
      if (n === null) break;
      length += n;
    }
  } finally {
    file.close();
  }
  return header.subarray(0, length);
}

/** Refuses the image at `path` when it would make QEMU open another file; `what` names the job's field. */
export async function checkSelfContainedImage(path: string, what: string): Promise<void> {
  const header = await imageHeader(path, 512);
  const length = header.length;
  const view = new DataView(header.buffer, 0, length);
  if (length >= 104 && view.getUint32(0) === 0x514649fb) {
    if (view.getBigUint64(8) !== 0n) {
      throw new JobError(`${what}: the qcow2 image names a backing file; give a self-contained image`);
    }
    // Version 3 incompatible feature bit 2: the data is in an external file.
    if (view.getUint32(4) >= 3 && (view.getBigUint64(72) & 4n) !== 0n) {
      throw new JobError(`${what}: the qcow2 image keeps its data in an external file; give a self-contained image`);
    }
    return;
  }
  for (const [magic, format] of REFERRING_FORMATS) {
    if (length >= magic.length && ascii(header, magic.length) === magic) {
      throw new JobError(`${what}: ${format} images may refer to other files; convert it to raw or qcow2`);
    }
  }
}
