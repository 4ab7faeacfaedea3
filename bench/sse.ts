/**
 * The master's memory while 200 clients follow a running job's log over
 * server-sent events and never read: each client's queue is bounded, and a
 * client that falls behind is disconnected, so the master's RSS grows by a
 * bounded amount however much the job logs. Target: under 300 MiB above the
 * idle lab while the job logs 256 MiB (an unbounded queue would hold
 * 200 × 256 MiB).
 *
 *   deno task bench sse
 */
import { startTestLab } from "../tests/support/lab.ts";
import { startLogSource } from "../tests/support/log_source.ts";
import { stalledClient } from "../tests/support/raw_http.ts";

const CLIENTS = 200;
const LOG_MIB = 256;
const LINE = "z".repeat(4096);

export interface SseBenchResult {
  readonly clients: number;
  readonly loggedMiB: number;
  readonly rssIdleMiB: number;
  readonly rssPeakMiB: number;
  readonly disconnected: number;
  readonly seconds: number;
}

export async function runSseBench(): Promise<SseBenchResult> {
  const lab = await startTestLab();
  try {
    const source = await startLogSource(lab, "sse-bench");
    const head = `GET /api/v1/jobs/${source.job}/logs/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream`;
    const clients = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(await stalledClient(lab.master.url, head));
    await new Promise((r) => setTimeout(r, 300));
    const rssIdle = Deno.memoryUsage().rss;
    let rssPeak = rssIdle;
    const started = performance.now();
    const batch = Array.from({ length: 64 }, () => LINE);
    const batches = LOG_MIB * 2 ** 20 / (LINE.length * batch.length);
    for (let i = 0; i < batches; i++) {
      source.push(batch);
      if (i % 16 === 15) {
        // Let the server write and the database store, as a real worker's pace would.
        await source.flush();
        await new Promise((r) => setTimeout(r, 0));
        rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
      }
    }
    await source.flush();
    const seconds = (performance.now() - started) / 1000;
    rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    const drained = await Promise.all(clients.map((client) => client.drain(2_000)));
    return {
      clients: CLIENTS,
      loggedMiB: LOG_MIB,
      rssIdleMiB: rssIdle / 2 ** 20,
      rssPeakMiB: rssPeak / 2 ** 20,
      disconnected: drained.filter((d) => d.closed).length,
      seconds,
    };
  } finally {
    await lab.close();
  }
}

export function formatSseBench(r: SseBenchResult): string {
  return [
    `${r.clients} SSE clients that never read, following a job that logs ${r.loggedMiB} MiB (${
      r.seconds.toFixed(1)
    } s)`,
    `  master RSS idle ${r.rssIdleMiB.toFixed(0)} MiB, peak ${r.rssPeakMiB.toFixed(0)} MiB ` +
    `(+${(r.rssPeakMiB - r.rssIdleMiB).toFixed(0)} MiB; target < +300 MiB)`,
    `  clients disconnected for falling behind: ${r.disconnected} of ${r.clients}`,
  ].join("\n");
}

if (import.meta.main) console.log(formatSseBench(await runSseBench()));
