/**
 * The scheduler at lab scale: 1,000 devices (10 device types, tags on some) on
 * 100 workers, 100,000 queued jobs.
 *
 * - decision: the in-memory choice of the next job for a device that became free.
 * - free → assigned: in a real master (embedded database), a job on a device
 *   ends and the time until the device's next job is Scheduled is measured —
 *   the actor transitions, the definition read, the device rendering, the
 *   start message staged. Target: under 10 ms.
 * - memory: the master's resident set with the whole queue loaded. Target: under 1 GiB.
 *
 *   deno task bench scheduler
 */
import { sql } from "kysely";
import { stringify } from "yaml";
import { createLogger } from "../actors/runtime/log.ts";
import { Scheduler } from "../master/lab/scheduler.ts";
import { startMaster } from "../master/master.ts";
import { openStorage } from "../master/storage/database.ts";
import { qemuJob } from "../tests/support/dut.ts";
import { QEMU_DICTIONARY } from "../tests/support/lab.ts";

const DEVICES = 1000;
const WORKERS = 100;
const TYPES = 10;
const JOBS = 100_000;
const SAMPLES = 300;

export interface SchedulerBenchResult {
  readonly decisionUs: { p50: number; p99: number };
  readonly freeToAssignedMs: { p50: number; p99: number; samples: number };
  readonly loadSeconds: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];

/** 1 in 4 devices has tag "big"; 1 in 7 jobs asks for it. */
function decisionBench(): { p50: number; p99: number } {
  const scheduler = new Scheduler(() => 0.5);
  for (let w = 0; w < WORKERS; w++) scheduler.setWorker({ hostname: `w${w}`, schedulable: true, jobLimit: 0 });
  for (let d = 0; d < DEVICES; d++) {
    scheduler.setDevice({
      hostname: `dev${d}`,
      deviceType: `type${d % TYPES}`,
      worker: `w${d % WORKERS}`,
      tags: new Set(d % 4 === 0 ? ["big"] : []),
    });
  }
  scheduler.queue.addMany(Array.from({ length: JOBS }, (_, i) => ({
    id: i + 1,
    deviceType: `type${i % TYPES}`,
    priority: [0, 50, 100][i % 3],
    submitTime: 1_700_000_000_000 + i,
    tags: i % 7 === 0 ? ["big"] : [],
    submitter: 1,
  })));
  const times: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const hostname = `dev${(i * 7) % DEVICES}`;
    scheduler.deviceChanged(hostname, "Idle", "Good");
    const started = performance.now();
    const assigned = scheduler.decide([hostname]);
    times.push((performance.now() - started) * 1000);
    if (assigned.length !== 1) throw new Error("a free device got no job");
    // Its job reserves it, as the device actor would.
    scheduler.deviceChanged(hostname, "Reserved", "Good");
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function seed(dataDir: string): Promise<void> {
  const storage = await openStorage({ kind: "pglite", dataDir });
  const db = storage.db;
  await db.insertInto("users").values({ username: "bench" }).execute();
  await sql`INSERT INTO workers (hostname) SELECT 'w' || i FROM generate_series(0, ${WORKERS - 1}) i`.execute(db);
  await sql`INSERT INTO device_types (name) SELECT 'type' || i FROM generate_series(0, ${TYPES - 1}) i`.execute(db);
  await sql`INSERT INTO tags (name) VALUES ('big')`.execute(db);
  await sql`INSERT INTO devices (hostname, device_type, worker_hostname, health, dictionary)
    SELECT 'dev' || i, 'type' || (i % ${TYPES}), 'w' || (i % ${WORKERS}), 0, ${QEMU_DICTIONARY}
    FROM generate_series(0, ${DEVICES - 1}) i`.execute(db);
  await sql`INSERT INTO device_tags (device_hostname, tag) SELECT 'dev' || i, 'big'
    FROM generate_series(0, ${DEVICES - 1}, 4) i`.execute(db);
  const definition = stringify(qemuJob({ name: "bench" }));
  await sql`INSERT INTO test_jobs (definition, description, submitter_id, requested_device_type, priority, submit_time)
    SELECT ${definition}, 'bench ' || i, (SELECT id FROM users WHERE username = 'bench'), 'type' || (i % ${TYPES}),
      (ARRAY[0, 50, 100])[i % 3 + 1], now() + i * interval '1 millisecond'
    FROM generate_series(0, ${JOBS - 1}) i`.execute(db);
  await sql`INSERT INTO test_job_tags (job_id, tag) SELECT id, 'big' FROM test_jobs WHERE id % 7 = 0`.execute(db);
  await storage.close();
}

async function masterBench(): Promise<Omit<SchedulerBenchResult, "decisionUs">> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-scheduler-" });
  try {
    await seed(`${dir}/data`);
    const started = performance.now();
    const master = await startMaster({
      storage: { kind: "pglite", dataDir: `${dir}/data` },
      http: { hostname: "127.0.0.1", port: 0 },
      zmq: "tcp://127.0.0.1:*",
      events: "tcp://127.0.0.1:*",
      logger: createLogger({ process: "master", level: "error" }),
    });
    const loadSeconds = (performance.now() - started) / 1000;
    const lab = master.lab;
    try {
      const scheduled = new Map<string, string>();
      let waiting: { device: string; resolve: () => void } | undefined;
      lab.events.subscribe((e) => {
        if (e.kind !== "testjob" || e.data.state !== "Scheduled") return;
        scheduled.set(String(e.data.device), String(e.data.job));
        if (waiting && e.data.device === waiting.device) waiting.resolve();
      });
      // Every worker says hello, as over the mailbox: each device takes its first job.
      for (let w = 0; w < WORKERS; w++) {
        lab.peerEvent({ type: "online", peer: `w${w}`, summary: { version: "bench", jobLimit: 0, running: [] } });
      }
      while (scheduled.size < DEVICES) {
        await lab.settled();
        await new Promise((r) => setTimeout(r, 10));
      }
      await lab.host.committer.flush();
      const times: number[] = [];
      const noScope = { journal: () => {} };
      for (let i = 0; i < SAMPLES; i++) {
        const device = `dev${(i * 37) % DEVICES}`;
        const job = scheduled.get(device)!;
        const next = new Promise<void>((resolve) => (waiting = { device, resolve }));
        const t0 = performance.now();
        lab.deliver({
          peer: `w${(i * 37) % DEVICES % WORKERS}`,
          to: `job/${job}`,
          kind: "job.finished",
          body: { job, result: "pass" },
        }, noScope);
        await next;
        times.push(performance.now() - t0);
        waiting = undefined;
      }
      await lab.settled();
      await lab.host.committer.flush();
      const memory = Deno.memoryUsage();
      times.sort((a, b) => a - b);
      return {
        freeToAssignedMs: { p50: percentile(times, 50), p99: percentile(times, 99), samples: times.length },
        loadSeconds,
        rssMiB: memory.rss / 2 ** 20,
        heapMiB: memory.heapUsed / 2 ** 20,
      };
    } finally {
      await master.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export async function runSchedulerBench(): Promise<SchedulerBenchResult> {
  const decisionUs = decisionBench();
  return { decisionUs, ...(await masterBench()) };
}

export function formatSchedulerBench(r: SchedulerBenchResult): string {
  return [
    `${DEVICES} devices on ${WORKERS} workers, ${JOBS} queued jobs`,
    `  scheduler decision (in memory): p50 ${r.decisionUs.p50.toFixed(1)} µs, p99 ${r.decisionUs.p99.toFixed(1)} µs`,
    `  device free → next job Scheduled (master, embedded database, ${r.freeToAssignedMs.samples} samples): p50 ${
      r.freeToAssignedMs.p50.toFixed(2)
    } ms, p99 ${r.freeToAssignedMs.p99.toFixed(2)} ms (target < 10 ms: ${
      r.freeToAssignedMs.p99 < 10 ? "met" : "MISSED"
    })`,
    `  master start with the queue: ${r.loadSeconds.toFixed(1)} s`,
    `  memory: rss ${r.rssMiB.toFixed(0)} MiB, heap ${r.heapMiB.toFixed(0)} MiB (target < 1024 MiB: ${
      r.rssMiB < 1024 ? "met" : "MISSED"
    })`,
  ].join("\n");
}

if (import.meta.main) console.log(formatSchedulerBench(await runSchedulerBench()));
