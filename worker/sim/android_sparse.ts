/**
 * Android's sparse image format, as a device's bootloader writes it to a
 * partition: a header, then chunks of raw blocks, filled blocks, blocks left as
 * they are and CRCs. The fastboot client sends images this way (and cuts large
 * ones into several sparse images, each skipping what the others carry), so a
 * simulated device has to write them as a real one does. Everything in the image
 * is checked against its own header and the partition's size before a byte is
 * written.
 */

const MAGIC = 0xed26ff3a;
const RAW = 0xcac1;
const FILL = 0xcac2;
const DONT_CARE = 0xcac3;
const CRC32 = 0xcac4;

export function isSparseImage(image: Uint8Array): boolean {
  return image.length >= 28 && new DataView(image.buffer, image.byteOffset, 4).getUint32(0, true) === MAGIC;
}

/** A write planned from the image: `length` bytes at `offset`, either copied from the image or one repeated word. */
type Extent =
  | { readonly offset: number; readonly bytes: Uint8Array }
  | { readonly offset: number; readonly length: number; readonly fill: Uint8Array };

/** The image's writes, or the reason it cannot be written to a partition of `partitionSize` bytes. */
export function sparseExtents(image: Uint8Array, partitionSize: number): Extent[] | string {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (!isSparseImage(image)) return "not a sparse image";
  if (view.getUint16(4, true) !== 1) return `sparse format ${view.getUint16(4, true)} is not supported`;
  const fileHeader = view.getUint16(8, true);
  const chunkHeader = view.getUint16(10, true);
  const blockSize = view.getUint32(12, true);
  const totalBlocks = view.getUint32(16, true);
  const totalChunks = view.getUint32(20, true);
  if (fileHeader < 28 || chunkHeader < 12 || blockSize === 0 || blockSize % 4 !== 0) return "bad sparse header";
  if (totalBlocks * blockSize > partitionSize) {
    return `image is ${totalBlocks * blockSize} bytes, the partition ${partitionSize}`;
  }
  const extents: Extent[] = [];
  let at = fileHeader;
  let block = 0;
  for (let chunk = 0; chunk < totalChunks; chunk++) {
    if (at + chunkHeader > image.length) return `chunk ${chunk}: the image ends inside its header`;
    const type = view.getUint16(at, true);
    const blocks = view.getUint32(at + 4, true);
    const total = view.getUint32(at + 8, true);
    const dataAt = at + chunkHeader;
    const dataLength = total - chunkHeader;
    if (total < chunkHeader || at + total > image.length) return `chunk ${chunk}: its size runs past the image`;
    if (block + blocks > totalBlocks) return `chunk ${chunk}: past the image's ${totalBlocks} blocks`;
    const offset = block * blockSize;
    if (type === RAW) {
      if (dataLength !== blocks * blockSize) return `chunk ${chunk}: raw data of the wrong size`;
      extents.push({ offset, bytes: image.subarray(dataAt, dataAt + dataLength) });
    } else if (type === FILL) {
      if (dataLength !== 4) return `chunk ${chunk}: a fill chunk holds four bytes`;
      extents.push({ offset, length: blocks * blockSize, fill: image.subarray(dataAt, dataAt + 4) });
    } else if (type === CRC32) {
      if (dataLength !== 4) return `chunk ${chunk}: a CRC chunk holds four bytes`;
    } else if (type !== DONT_CARE) {
      return `chunk ${chunk}: unknown chunk type 0x${type.toString(16)}`;
    }
    if (type !== CRC32) block += blocks;
    at += total;
  }
  return extents;
}

/** Writes the image's extents into `file` (a partition), the filled ones a block-sized buffer at a time. */
export async function writeExtents(file: Deno.FsFile, extents: readonly Extent[]): Promise<void> {
  for (const extent of extents) {
    await file.seek(extent.offset, Deno.SeekMode.Start);
    if ("bytes" in extent) {
      await writeAll(file, extent.bytes);
      continue;
    }
    const piece = new Uint8Array(Math.min(extent.length, 1 << 20));
    for (let i = 0; i < piece.length; i += 4) piece.set(extent.fill, i);
    for (let left = extent.length; left > 0; left -= piece.length) {
      await writeAll(file, piece.subarray(0, Math.min(left, piece.length)));
    }
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
