/**
 * Checksums of a stream fed chunk by chunk (a download's sha256, the md5 or
 * sha512 a job asks to check), as lowercase hex.
 *
 * Most downloads are small (a ramdisk, a device tree), and a dispatch process
 * starts per job: their bytes are held and digested once by WebCrypto, already
 * loaded in every Deno process. Only a stream larger than SMALL_BYTES, or an md5
 * (which WebCrypto does not offer), loads `node:crypto`'s incremental hashes —
 * whose first import costs a process about 15 ms of CPU for Deno's Node layer.
 */

import { concatBytes } from "./bytes.ts";

export type DigestKind = "md5" | "sha256" | "sha512";

/** Bytes held for one WebCrypto digest before the stream is hashed as it goes instead. */
export const SMALL_BYTES = 16 * 1024 * 1024;

const WEB_NAMES: Partial<Record<DigestKind, string>> = { sha256: "SHA-256", sha512: "SHA-512" };

interface IncrementalHash {
  update(chunk: Uint8Array): unknown;
  digest(encoding: "hex"): string;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

export class StreamDigest {
  /** Chunks held while the stream is small (they are not copied: the caller must not reuse them). */
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #incremental: IncrementalHash | undefined;

  constructor(readonly kind: DigestKind) {}

  async update(chunk: Uint8Array): Promise<void> {
    if (this.#incremental) {
      this.#incremental.update(chunk);
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes > SMALL_BYTES || !WEB_NAMES[this.kind]) {
      const { createHash } = await import("node:crypto");
      this.#incremental = createHash(this.kind);
      for (const held of this.#held) this.#incremental.update(held);
      this.#held = [];
    }
  }

  /** The digest of everything fed, as lowercase hex; call once, after the last update. */
  async hex(): Promise<string> {
    if (this.#incremental) return this.#incremental.digest("hex");
    if (!WEB_NAMES[this.kind]) {
      const { createHash } = await import("node:crypto");
      return createHash(this.kind).digest("hex");
    }
    const all = concatBytes(this.#held);
    this.#held = [];
    return hex(await crypto.subtle.digest(WEB_NAMES[this.kind]!, all));
  }
}

/** The sha256 of a short text (cache keys). */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
