import { assertEquals } from "../../tests/support/assert.ts";
import { isSparseImage, sparseExtents, writeExtents } from "./android_sparse.ts";

async function img2simg(raw: Uint8Array, dir: string): Promise<Uint8Array> {
  await Deno.writeFile(`${dir}/in.raw`, raw);
  const out = await new Deno.Command("img2simg", { args: [`${dir}/in.raw`, `${dir}/out.simg`] }).output();
  if (!out.success) throw new Error("img2simg failed");
  return Deno.readFile(`${dir}/out.simg`);
}

Deno.test("a sparse image made by img2simg is written back byte for byte, holes and all", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-sparse-" });
  try {
    const raw = new Uint8Array(6 << 20);
    crypto.getRandomValues(raw.subarray(4096, 4096 + 65536));
    raw.fill(0x5a, 2 << 20, 3 << 20);
    raw.set(new TextEncoder().encode("end"), raw.length - 3);
    const sparse = await img2simg(raw, dir);
    assertEquals(isSparseImage(sparse), true);
    const extents = sparseExtents(sparse, 8 << 20);
    if (typeof extents === "string") throw new Error(extents);
    const file = await Deno.open(`${dir}/partition`, { read: true, write: true, create: true });
    await file.truncate(8 << 20);
    await writeExtents(file, extents);
    file.close();
    assertEquals((await Deno.readFile(`${dir}/partition`)).subarray(0, raw.length), raw);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sparse image larger than the partition, or lying about its chunks, is refused before anything is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-sparse-" });
  try {
    const raw = new Uint8Array(1 << 20);
    raw.fill(1, 0, 8192);
    const sparse = await img2simg(raw, dir);
    assertEquals(sparseExtents(sparse, 512 << 10), `image is ${1 << 20} bytes, the partition ${512 << 10}`);
    // The first chunk claims more data than the image holds.
    const lying = sparse.slice();
    new DataView(lying.buffer).setUint32(28 + 8, 0x7fffffff, true);
    assertEquals(sparseExtents(lying, 2 << 20), "chunk 0: its size runs past the image");
    assertEquals(sparseExtents(new Uint8Array(64), 1 << 20), "not a sparse image");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
