/**
 * Follows a dispatch process's log file — one `{"dt","lvl","msg"}` record per
 * line, as `deno task dispatch --log-file` writes it — from a byte offset,
 * handing on complete lines in batches as they are written. It wakes on inotify
 * events for the file (Deno.watchFs), not on a timer, and reads to the end once
 * more after it is told the writer has gone, so nothing written last is missed.
 *
 * A line written after a quiet spell goes at once; lines that follow within
 * `minIntervalMs` of the last batch wait for the interval and go together.
 * Each batch costs the worker a journal write and a message, and the master a
 * commit and a push to every follower, so a chatty job (a line every few
 * milliseconds) costs at most one batch per interval rather than one per line.
 */
import { type JobLogLine, LOG_LEVELS } from "../../actors/lab/protocol.ts";

export interface LogBatch {
  readonly lines: JobLogLine[];
  /** The byte offset just after the last line of this batch. */
  readonly offset: number;
}

export interface FollowOptions {
  readonly offset: number;
  /** Resolves when the writer has finished: the rest of the file is read and following ends. */
  readonly writerDone: Promise<unknown>;
  readonly onBatch: (batch: LogBatch) => void;
  /** At most this many lines per batch (a mailbox message). */
  readonly maxLines?: number;
  /**
   * A batch is handed on once its lines reach this many bytes, so it stays far
   * below the mailbox's MAX_BODY_BYTES: the dispatcher's records are up to 100,000
   * characters each, and 500 of them would not fit.
   */
  readonly maxBytes?: number;
  /** At most one batch per this many milliseconds (0: a batch per wake-up). */
  readonly minIntervalMs?: number;
  readonly signal?: AbortSignal;
}

const decoder = new TextDecoder();

/** A line that is not a record (it should not happen) is kept, as debug text, rather than lost. */
function recordOf(text: string): JobLogLine {
  try {
    const value = JSON.parse(text);
    if (
      typeof value === "object" && value !== null && typeof value.dt === "string" && LOG_LEVELS.includes(value.lvl)
    ) {
      return { dt: value.dt, lvl: value.lvl, msg: value.msg ?? null };
    }
  } catch {
    // kept below
  }
  return { dt: new Date().toISOString(), lvl: "debug", msg: text };
}

export async function followLog(path: string, options: FollowOptions): Promise<number> {
  const maxLines = options.maxLines ?? 500;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const minIntervalMs = options.minIntervalMs ?? 0;
  let offset = options.offset;
  const file = await Deno.open(path, { read: true });
  const watcher = Deno.watchFs(path, { recursive: false });
  let done = false;
  // Writes seen since the last read: the events queued while a batch waited its
  // interval collapse into one wake-up, not one empty read each.
  let written = false;
  let wake: () => void = () => {};
  const woken = () => {
    wake();
    wake = () => {};
  };
  const writerGone = options.writerDone.then(() => (done = true), () => (done = true)).then(woken);
  const watching = (async () => {
    for await (const _ of watcher) {
      written = true;
      woken();
    }
  })();
  let lastBatchAt = -Infinity;
  const chunk = new Uint8Array(256 * 1024);

  /** Reads complete lines from `offset` to the end of the file. */
  const drain = async () => {
    await file.seek(offset, Deno.SeekMode.Start);
    let pending = new Uint8Array(0);
    let pendingStart = offset;
    let lines: JobLogLine[] = [];
    let linesBytes = 0;
    let linesEnd = offset;
    const flush = () => {
      if (lines.length === 0) return;
      lastBatchAt = performance.now();
      options.onBatch({ lines, offset: linesEnd });
      lines = [];
      linesBytes = 0;
    };
    while (true) {
      const n = await file.read(chunk);
      if (n === null || n === 0) break;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(chunk.subarray(0, n), pending.length);
      let start = 0;
      for (let i = 0; i < joined.length; i++) {
        if (joined[i] !== 0x0a) continue;
        const text = decoder.decode(joined.subarray(start, i));
        if (text.trim() !== "") lines.push(recordOf(text));
        linesBytes += i - start;
        linesEnd = pendingStart + i + 1;
        start = i + 1;
        if (lines.length >= maxLines || linesBytes >= maxBytes) flush();
      }
      pending = joined.slice(start);
      pendingStart += start;
    }
    flush();
    offset = linesEnd;
  };

  const aborted = new Promise<void>((resolve) =>
    options.signal?.addEventListener("abort", () => {
      resolve();
      woken();
    }, { once: true })
  );
  try {
    while (!options.signal?.aborted) {
      written = false;
      await drain();
      if (done) {
        await drain();
        break;
      }
      // Wake on the next write to the file, or when the writer is gone.
      if (!written) await new Promise<void>((resolve) => (wake = resolve));
      const wait = lastBatchAt + minIntervalMs - performance.now();
      if (wait > 0 && !done) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, wait))), writerGone, aborted]);
        clearTimeout(timer);
      }
    }
  } finally {
    woken();
    watcher.close();
    file.close();
    await watching.catch(() => {});
  }
  return offset;
}
