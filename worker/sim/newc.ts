/**
 * Reads the files of an initramfs made of concatenated "newc" cpio archives, all
 * gzipped or none, with or without a U-Boot header, as the simulated board's kernel unpacks it.
 */
import { gunzipSync } from "node:zlib";

export interface CpioFile {
  readonly name: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

/** Every entry of every archive in `bytes` (gzipped or not); trailers and padding skipped. */
export function readInitramfs(image: Uint8Array): CpioFile[] {
  // A legacy U-Boot image (a ramdisk given its header by mkimage) holds the archive after 64 bytes.
  const wrapped = image.length > 64 && image[0] === 0x27 && image[1] === 0x05 && image[2] === 0x19 && image[3] === 0x56;
  const bytes = wrapped ? image.subarray(64) : image;
  // gunzip reads consecutive gzip members as one stream.
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  const files: CpioFile[] = [];
  const text = new TextDecoder();
  let offset = 0;
  while (offset + 110 <= raw.length) {
    if (raw[offset] === 0) {
      offset++;
      continue;
    }
    const header = text.decode(raw.subarray(offset, offset + 110));
    if (!header.startsWith("070701") && !header.startsWith("070702")) break;
    const field = (i: number) => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = offset + 110;
    const name = text.decode(raw.subarray(nameStart, nameStart + nameSize - 1));
    const dataStart = nameStart + nameSize + ((4 - ((110 + nameSize) % 4)) % 4);
    const data = raw.subarray(dataStart, dataStart + size);
    offset = dataStart + size + ((4 - (size % 4)) % 4);
    if (name !== "TRAILER!!!") files.push({ name, mode, data });
  }
  return files;
}
