/** Waiting for something on disk to hold, woken by inotify (Deno.watchFs) rather than a timer. */

/** Resolves once `check` holds, re-checked whenever something under `path` changes; throws after `timeoutMs`. */
export async function whenChanged(
  path: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const watcher = Deno.watchFs(path);
  const timer = setTimeout(() => watcher.close(), timeoutMs);
  try {
    if (await check()) return;
    for await (const _ of watcher) if (await check()) return;
    throw new Error(`no ${what} within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch { /* closed by the timer */ }
  }
}
