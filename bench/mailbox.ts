/**
 * Mailbox throughput and round-trip latency between two processes over loopback
 * TCP, with the durable outbox on (every message is journaled before it leaves
 * and acknowledged only once handled durably), with and without CurveZMQ.
 * Targets: at least 20,000 messages/s one way; p99 round trip under 2 ms at
 * 1,000 messages/s.
 *
 *   deno task bench mailbox
 *
 * This process is the worker (SQLite journal); bench/mailbox_echo.ts is the
 * master, journaling in SQLite, in PGlite, and in PostgreSQL in turn.
 */
import { ActorHost } from "../actors/process/host.ts";
import { createLogger } from "../actors/runtime/log.ts";
import { SqliteJournal } from "../actors/runtime/sqlite_journal.ts";
import { generateKeyPair, writeCertificates } from "../actors/transport/zmq/curve.ts";
import { freePort, startPostgres } from "../tests/support/postgres.ts";
import { TestProcess } from "../tests/support/process.ts";
import { benchProtocol } from "./mailbox_echo.ts";

export interface MailboxBenchRow {
  master: string;
  curve: boolean;
  messagesPerSecond: number;
  rttP50Ms: number;
  rttP99Ms: number;
  rttMaxMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runOne(
  master: string,
  masterArgs: string[],
  curve: boolean,
  keys: string,
): Promise<MailboxBenchRow> {
  const port = freePort();
  const curveMaster = curve ? ["--curve-secret", `${keys}/master.key_secret`, "--allow", `${keys}/allowed`] : [];
  const echo = TestProcess.deno("echo", "bench/mailbox_echo.ts", [
    "--listen",
    `tcp://127.0.0.1:${port}`,
    ...masterArgs,
    ...curveMaster,
  ]);
  const state = await Deno.makeTempDir({ prefix: "basalt-bench-worker-" });
  const journal = SqliteJournal.open(state);
  const host = await ActorHost.open({
    name: "bench-worker",
    journal,
    logger: createLogger({ process: "bench", level: "error" }),
  });
  try {
    await echo.waitForEvent("ready", 60_000);
    const rtts: number[] = [];
    let online = false;
    const { readKeyPair, readCertificate } = await import("../actors/transport/zmq/curve.ts");
    const mailbox = await host.mailbox({
      protocol: benchProtocol,
      mode: {
        kind: "connect",
        endpoints: [`tcp://127.0.0.1:${port}`],
        peer: "master",
        curve: curve
          ? {
            keyPair: await readKeyPair(`${keys}/allowed/bench-worker.key_secret`),
            serverPublicKey: (await readCertificate(`${keys}/master.key`)).publicKey,
          }
          : undefined,
      },
      onPeer: (e) => (online = e.type === "online" ? true : online),
      onMessage: (delivery) => {
        if (delivery.kind === "rtt") rtts.push(performance.now() - delivery.body.t);
      },
    });
    while (!online) await sleep(10);
    const unacked = () => mailbox.peers().find((p) => p.peer === "master")?.unacknowledged ?? 0;

    // One way: a burst of bulk messages, timed until the master has durably handled all.
    const COUNT = 50_000;
    const start = performance.now();
    for (let i = 0; i < COUNT; i++) {
      mailbox.send("master", "bench", "bulk", { i });
      if (i % 5000 === 4999) await sleep(0);
    }
    while (unacked() > 0) await sleep(1);
    const messagesPerSecond = Math.round(COUNT / ((performance.now() - start) / 1000));

    // Round trips at 1,000 messages/s for 5 s.
    const RATE = 1000, SECONDS = 5;
    const begin = performance.now();
    for (let i = 0; i < RATE * SECONDS; i++) {
      const due = begin + i * (1000 / RATE);
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      mailbox.send("master", "bench", "rtt", { t: performance.now() });
    }
    const deadline = performance.now() + 10_000;
    while (rtts.length < RATE * SECONDS && performance.now() < deadline) await sleep(5);
    rtts.sort((a, b) => a - b);
    const at = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))];
    return {
      master,
      curve,
      messagesPerSecond,
      rttP50Ms: round(at(0.5)),
      rttP99Ms: round(at(0.99)),
      rttMaxMs: round(rtts[rtts.length - 1]),
    };
  } finally {
    await host.close();
    await echo.stop();
    await Deno.remove(state, { recursive: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export async function runMailboxBench(): Promise<MailboxBenchRow[]> {
  const keys = await Deno.makeTempDir({ prefix: "basalt-bench-keys-" });
  const pglite = await Deno.makeTempDir({ prefix: "basalt-bench-pglite-" });
  const sqlite = await Deno.makeTempDir({ prefix: "basalt-bench-sqlite-" });
  const postgres = await startPostgres();
  const rows: MailboxBenchRow[] = [];
  try {
    await writeCertificates(keys, "master", generateKeyPair());
    await writeCertificates(`${keys}/allowed`, "bench-worker", generateKeyPair());
    const pgUrl = await postgres.createDatabase();
    for (const curve of [false, true]) {
      rows.push(await runOne("SQLite", ["--state", sqlite], curve, keys));
      rows.push(await runOne("PGlite", ["--data-dir", pglite], curve, keys));
      rows.push(await runOne("PostgreSQL", ["--db", pgUrl], curve, keys));
    }
  } finally {
    await postgres.stop();
    for (const dir of [keys, pglite, sqlite]) await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

export function formatMailboxBench(rows: readonly MailboxBenchRow[]): string {
  const lines = rows.map((r) =>
    `master journal ${r.master.padEnd(10)} curve ${r.curve ? "on " : "off"}  ` +
    `${String(r.messagesPerSecond).padStart(7)} msg/s one way  ` +
    `rtt@1000/s p50 ${r.rttP50Ms.toFixed(2)} ms  p99 ${r.rttP99Ms.toFixed(2)} ms  max ${r.rttMaxMs.toFixed(2)} ms`
  );
  lines.push("targets: >= 20000 msg/s one way; p99 round trip < 2 ms at 1000 msg/s");
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(formatMailboxBench(await runMailboxBench()));
}
