import { assertEquals } from "../../tests/support/assert.ts";
import { pruneDownloadCache } from "./download_cache.ts";

async function entry(dir: string, name: string, bytes: number, usedSecondsAgo: number): Promise<void> {
  await Deno.writeFile(`${dir}/${name}`, new Uint8Array(bytes));
  await Deno.writeTextFile(`${dir}/${name}.json`, "{}");
  const when = new Date(Date.now() - usedSecondsAgo * 1000);
  await Deno.utime(`${dir}/${name}`, when, when);
}

Deno.test("the least recently used downloads go until the cache fits its size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await entry(dir, "old", 400, 300);
    await entry(dir, "middle", 400, 200);
    await entry(dir, "new", 400, 100);
    assertEquals(await pruneDownloadCache(dir, 900), ["old"]);
    const left = [];
    for await (const item of Deno.readDir(dir)) left.push(item.name);
    assertEquals(left.sort(), ["middle", "middle.json", "new", "new.json"]);
    assertEquals(await pruneDownloadCache(dir, 900), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an entry being written is counted but not removed, and a missing cache is empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await entry(dir, "done", 400, 100);
    await Deno.writeFile(`${dir}/writing.tmp`, new Uint8Array(800));
    assertEquals(await pruneDownloadCache(dir, 1000), ["done"]);
    assertEquals(await pruneDownloadCache(`${dir}/nosuch`, 0), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
