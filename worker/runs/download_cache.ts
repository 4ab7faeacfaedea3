/**
 * The worker's download cache (`<stateDir>/cache/`, filled by dispatchers: a
 * file named by its key and `<key>.json` beside it) kept within a size: a job can
 * name any URL with its checksum, so without a bound a series of jobs fills the
 * worker's disk. When a job ends the least recently used entries go (a cache hit
 * renews an entry's time) until the cache fits; an entry in use by a running
 * dispatcher may go too — the dispatcher has copied it, or downloads it again.
 *
 * ```ts
 * await pruneDownloadCache(join(stateDir, "cache"), 32 * 2 ** 30);
 * ```
 */
import { join } from "../../actors/path.ts";

/** The cache's size unless the worker says otherwise: 32 GiB. */
export const DEFAULT_CACHE_BYTES = 32 * 2 ** 30;

interface Entry {
  readonly name: string;
  readonly bytes: number;
  readonly used: number;
}

/** Removes the least recently used entries until the cache holds at most `maxBytes`; returns what it removed. */
export async function pruneDownloadCache(dir: string, maxBytes: number): Promise<string[]> {
  const entries: Entry[] = [];
  let total = 0;
  try {
    for await (const item of Deno.readDir(dir)) {
      if (!item.isFile || item.name.endsWith(".json")) continue;
      const info = await Deno.stat(join(dir, item.name)).catch(() => undefined);
      if (!info) continue;
      // A `.tmp` is a dispatcher's entry being written: it counts, but is not removed under it.
      total += info.size;
      if (!item.name.endsWith(".tmp")) {
        entries.push({ name: item.name, bytes: info.size, used: info.mtime?.getTime() ?? 0 });
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  entries.sort((a, b) => a.used - b.used);
  const removed: string[] = [];
  for (const entry of entries) {
    if (total <= maxBytes) break;
    // The metadata first: an entry without it is a miss, never a half-read file.
    await Deno.remove(join(dir, `${entry.name}.json`)).catch(() => {});
    await Deno.remove(join(dir, entry.name)).catch(() => {});
    total -= entry.bytes;
    removed.push(entry.name);
  }
  return removed;
}
