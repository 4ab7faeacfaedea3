/**
 * A device flooding its console without newlines, with an expect() waiting for
 * a marker that only comes at the end: the console must stay linear in time and
 * bounded in memory. Targets: more than 50 MB/s in 64 KiB chunks and more than
 * 2 MB/s in 64-byte chunks (a serial line gives 11.5 KB/s), and at most about
 * 0.6 M characters held, whatever the flood's size.
 *
 *   deno task bench console
 */
import { Console } from "../worker/drivers/console.ts";
import { JobLog } from "../worker/job/log.ts";

export interface ConsoleBenchRun {
  chunkBytes: number;
  megabytes: number;
  megabytesPerSecond: number;
  maxHeldChars: number;
}

async function flood(totalBytes: number, chunkBytes: number): Promise<ConsoleBenchRun> {
  let feed!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
  let logged = 0;
  const log = new JobLog([(record) => logged += String(record.msg).length]);
  let held = 0;
  const console: Console = new Console(
    { readable, write: () => Promise.resolve(), close: () => Promise.resolve() },
    log,
    { flushIdleMs: 60_000, onOutput: () => held = Math.max(held, console.heldChars) },
  );
  const chunk = new TextEncoder().encode("x".repeat(chunkBytes));
  const started = performance.now();
  const waiting = console.expect(["END-OF-FLOOD"], 600_000);
  for (let sent = 0; sent < totalBytes; sent += chunkBytes) feed.enqueue(chunk);
  feed.enqueue(new TextEncoder().encode("END-OF-FLOOD\n"));
  feed.close();
  await waiting;
  await console.done;
  const seconds = (performance.now() - started) / 1000;
  if (logged < totalBytes) throw new Error(`only ${logged} of ${totalBytes} characters were logged`);
  return {
    chunkBytes,
    megabytes: totalBytes / 1e6,
    megabytesPerSecond: totalBytes / 1e6 / seconds,
    maxHeldChars: held,
  };
}

export async function runConsoleBench(): Promise<ConsoleBenchRun[]> {
  return [await flood(64 << 20, 64 << 10), await flood(4 << 20, 64)];
}

export function formatConsoleBench(runs: ConsoleBenchRun[]): string {
  return runs.map((r) =>
    `${r.megabytes.toFixed(0)} MB without a newline in ${r.chunkBytes}-byte chunks: ` +
    `${r.megabytesPerSecond.toFixed(1)} MB/s, at most ${r.maxHeldChars} characters held`
  ).join("\n");
}

if (import.meta.main) console.log(formatConsoleBench(await runConsoleBench()));
