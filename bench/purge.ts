/**
 * Purging old jobs while the lab works: 1,000 finished jobs of 1,000 log lines
 * each are purged by the retention policy (lab/retention.ts) in a running
 * master, while jobs are submitted and run through it on a worker that exists
 * only as its messages. Reports purge throughput (jobs/s), the slowest purge
 * transaction, and the longest scheduling pass during the purge.
 * Target: the longest scheduling pass during a purge under 50 ms.
 *
 *   deno task bench purge [--db postgres://...]
 *
 * Without --db a private PostgreSQL cluster is started on 127.0.0.1 (as the tests do).
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { sql } from "kysely";
import { stringify } from "yaml";
import { JobHealth, JobState } from "../actors/domain/states.ts";
import { createLogger } from "../actors/runtime/log.ts";
import { addLabDevice } from "../master/lab/admin/devices.ts";
import { addLabDeviceType } from "../master/lab/admin/device_types.ts";
import { addLabWorker } from "../master/lab/admin/workers.ts";
import { Retention } from "../master/lab/retention.ts";
import { startMaster } from "../master/master.ts";
import type { StorageTarget } from "../master/storage/target.ts";
import { addUser } from "../master/storage/users.ts";
import { qemuJob } from "../tests/support/dut.ts";
import { startFakeWorker } from "../tests/support/fake_worker.ts";
import { QEMU_DICTIONARY } from "../tests/support/lab.ts";
import { startPostgres } from "../tests/support/postgres.ts";

const JOBS = 1_000;
const LINES = 1_000;

export interface PurgeBenchRow {
  readonly backend: string;
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly slowestBatchMs: number;
  /** Jobs run through the lab while the purge went on. */
  readonly jobsRun: number;
  readonly longestPassMs: number;
}

async function measure(backend: string, target: StorageTarget, dir: string): Promise<PurgeBenchRow> {
  const quiet = createLogger({ process: "bench", level: "error", write: () => {} });
  const master = await startMaster({
    storage: target,
    labDir: `${dir}/lab-${backend}`,
    http: { hostname: "127.0.0.1", port: 0 },
    zmq: "tcp://127.0.0.1:*",
    events: "tcp://127.0.0.1:*",
    heartbeatMs: 200,
    logger: quiet,
  });
  const { db } = master.storage;
  const admin = await addUser(db, { username: "admin", superuser: true });
  await addLabWorker(master.lab, admin, "w1");
  const worker = await startFakeWorker("w1", master.zmq, `${dir}/w1-${backend}`);
  try {
    await addLabDeviceType(master.lab, admin, { name: "qemu" });
    await addLabDevice(master.lab, admin, {
      hostname: "qemu01",
      deviceType: "qemu",
      worker: "w1",
      dictionary: QEMU_DICTIONARY,
      health: "Good",
    });
    await sql`INSERT INTO test_jobs (definition, submitter_id, requested_device_type, state, health, end_time)
      SELECT 'job_name: old', ${admin.id}, 'qemu', ${JobState.byName.Finished}, ${JobHealth.byName.Complete},
             now() - interval '400 days'
      FROM generate_series(1, ${JOBS})`.execute(db);
    await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
      SELECT j.id, l, now(), 'target', '"[    1.234567] virtio_net virtio0 enp0s2: renamed from eth0"'
      FROM test_jobs j CROSS JOIN generate_series(0, ${LINES - 1}) AS l WHERE j.definition = 'job_name: old'`
      .execute(db);
    let slowestBatchMs = 0;
    const retention = new Retention({
      db,
      logger: quiet,
      keepDays: 365,
      onBatch: (_, ms) => slowestBatchMs = Math.max(slowestBatchMs, ms),
    });
    const passesBefore = master.lab.metrics().passSeconds.length;
    const started = performance.now();
    let done = false;
    const purge = retention.run().finally(() => done = true);
    let jobsRun = 0;
    const text = stringify(qemuJob({ name: "during the purge" }));
    while (!done) {
      const [job] = await master.lab.submit(text, admin);
      const [id] = await worker.take(1);
      if (id !== String(job.id)) throw new Error(`job ${job.id} was submitted, ${id} started`);
      worker.run(id, [[{ dt: new Date().toISOString(), lvl: "target", msg: "ok" }]]);
      jobsRun++;
    }
    const purged = await purge;
    const seconds = (performance.now() - started) / 1000;
    await master.lab.settled();
    const passes = master.lab.metrics().passSeconds.slice(passesBefore);
    await retention.close();
    return {
      backend,
      jobs: purged,
      seconds,
      jobsPerSecond: Math.round(purged / seconds),
      slowestBatchMs: Math.round(slowestBatchMs),
      jobsRun,
      longestPassMs: Math.round(Math.max(0, ...passes) * 1000 * 10) / 10,
    };
  } finally {
    await worker.close();
    await master.close();
  }
}

export async function runPurgeBench(args: string[] = []): Promise<PurgeBenchRow[]> {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, allowPositionals: true });
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-purge-" });
  const server = values.db ? undefined : await startPostgres();
  try {
    return [
      await measure("pglite", { kind: "pglite", dataDir: `${dir}/data` }, dir),
      await measure("postgres", { kind: "postgres", url: values.db ?? await server!.createDatabase() }, dir),
    ];
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

export function formatPurgeBench(rows: readonly PurgeBenchRow[]): string {
  const lines = [
    `purging ${JOBS} finished jobs of ${LINES} log lines each while jobs run (target: longest pass < 50 ms)`,
    "backend    jobs/s  seconds  slowest batch  jobs run meanwhile  longest scheduling pass",
  ];
  for (const r of rows) {
    lines.push(
      `${r.backend.padEnd(9)}  ${String(r.jobsPerSecond).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}  ` +
        `${`${r.slowestBatchMs} ms`.padStart(13)}  ${String(r.jobsRun).padStart(18)}  ${r.longestPassMs} ms`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) console.log(formatPurgeBench(await runPurgeBench(Deno.args)));
