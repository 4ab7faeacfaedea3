import { createHash } from "node:crypto";
import { assertEquals } from "../tests/support/assert.ts";
import { type DigestKind, sha256Hex, SMALL_BYTES, StreamDigest } from "./digest.ts";

function randomChunks(total: number, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let done = 0; done < total; done += chunk) {
    const piece = new Uint8Array(Math.min(chunk, total - done));
    for (let i = 0; i < piece.length; i += 65_536) crypto.getRandomValues(piece.subarray(i, i + 65_536));
    out.push(piece);
  }
  return out;
}

Deno.test("a stream's digests are node:crypto's, whether it is small, empty or larger than what is held", async () => {
  for (const total of [0, 1, 1_000_003, SMALL_BYTES + 300_000]) {
    const chunks = randomChunks(total, 1 << 20);
    for (const kind of ["sha256", "sha512", "md5"] as DigestKind[]) {
      const ours = new StreamDigest(kind);
      const theirs = createHash(kind);
      for (const chunk of chunks) {
        await ours.update(chunk);
        theirs.update(chunk);
      }
      assertEquals(await ours.hex(), theirs.digest("hex"), `${kind} of ${total} bytes`);
    }
  }
});

Deno.test("a text's sha256 is the usual hex digest", async () => {
  assertEquals(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
