/**
 * LAVA's REST API v0.2 at scale and callbacks on time: 100,000 jobs in the
 * database, then pages of `jobs/` as KernelCI and SQUAD ask for them — the
 * newest page, a deep page, filtered by state and health, the queue count per
 * device type, ordered by submit time — as an ordinary user (visibility
 * applies) and as an administrator; and 50 jobs with a `notify` callback run
 * through the lab on a worker that exists only as its messages, timing each
 * callback from the moment the worker says the job ended to its arrival.
 * Targets: p99 of a page < 50 ms; p99 of a callback < 100 ms.
 *
 *   deno task bench rest [--db postgres://...]
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
import { startMaster } from "../master/master.ts";
import type { StorageTarget } from "../master/storage/target.ts";
import { addUser, issueToken } from "../master/storage/users.ts";
import { qemuJob } from "../tests/support/dut.ts";
import { startFakeWorker } from "../tests/support/fake_worker.ts";
import { QEMU_DICTIONARY } from "../tests/support/lab.ts";
import { startPostgres } from "../tests/support/postgres.ts";

const JOBS = 100_000;
const REQUESTS = 100;
const CALLBACKS = 50;

export interface RestBenchRow {
  readonly backend: string;
  /** Per query: p50 and p99 of one page, in ms. */
  readonly pages: { readonly name: string; readonly p50: number; readonly p99: number }[];
  readonly callbackP50: number;
  readonly callbackP99: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 10) / 10;
}

const QUERIES: readonly { name: string; path: string; admin?: boolean }[] = [
  { name: "newest page (user)", path: "jobs/?limit=50" },
  { name: "page at offset 50,000 (user)", path: "jobs/?limit=50&offset=50000" },
  { name: "Finished,Complete newest first (user)", path: "jobs/?state=Finished&health=Complete&ordering=-id" },
  { name: "queue count of a type (KernelCI)", path: "jobs/?requested_device_type=qemu&state=Submitted&limit=1" },
  { name: "by submit time (admin)", path: "jobs/?ordering=-submit_time&limit=50", admin: true },
  { name: "by submitter (admin)", path: "jobs/?submitter__username=ci&limit=50", admin: true },
];

async function measure(backend: string, target: StorageTarget, dir: string): Promise<RestBenchRow> {
  const quiet = createLogger({ process: "bench", level: "error", write: () => {} });
  const master = await startMaster({
    storage: target,
    labDir: `${dir}/lab-${backend}`,
    http: { hostname: "127.0.0.1", port: 0 },
    zmq: "tcp://127.0.0.1:*",
    events: "tcp://127.0.0.1:*",
    heartbeatMs: 200,
    secretsKey: `${dir}/secrets-${backend}.key`,
    logger: quiet,
  });
  const { db } = master.storage;
  const admin = await addUser(db, { username: "admin", superuser: true });
  const ci = await addUser(db, { username: "ci" });
  const tokens = { admin: (await issueToken(db, "admin")).token, ci: (await issueToken(db, "ci")).token };
  await addLabWorker(master.lab, admin, "w1");
  const worker = await startFakeWorker("w1", master.zmq, `${dir}/w1-${backend}`);
  const arrivals = new Map<number, number>();
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.json() as { id: number };
    arrivals.set(body.id, performance.now());
    return new Response("ok");
  });
  try {
    for (const name of ["qemu", "bbb", "juno"]) await addLabDeviceType(master.lab, admin, { name });
    await addLabDevice(master.lab, admin, {
      hostname: "qemu01",
      deviceType: "qemu",
      worker: "w1",
      dictionary: QEMU_DICTIONARY,
      health: "Good",
    });
    // A lab's history: mostly finished jobs of three types, by two submitters, a few queued.
    await sql`INSERT INTO test_jobs (definition, description, submitter_id, requested_device_type, state, health,
        submit_time, start_time, end_time, actual_device)
      SELECT 'job_name: history ' || i, 'history ' || i, CASE WHEN i % 3 = 0 THEN ${admin.id}::integer ELSE ${ci.id}::integer END,
        (ARRAY['qemu', 'bbb', 'juno'])[1 + i % 3],
        CASE WHEN i > ${JOBS - 20}::integer THEN ${JobState.byName.Submitted}::integer
          ELSE ${JobState.byName.Finished}::integer END,
        CASE WHEN i > ${JOBS - 20}::integer THEN ${JobHealth.byName.Unknown}::integer WHEN i % 7 = 0
          THEN ${JobHealth.byName.Incomplete}::integer ELSE ${JobHealth.byName.Complete}::integer END,
        now() - make_interval(secs => ${JOBS}::integer - i), now() - make_interval(secs => ${JOBS}::integer - i),
        now() - make_interval(secs => ${JOBS}::integer - i), NULL
      FROM generate_series(1, ${JOBS}) i`.execute(db);
    await sql`ANALYZE test_jobs`.execute(db);

    const pages = [];
    for (const query of QUERIES) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS + 5; i++) {
        const started = performance.now();
        const response = await fetch(`${master.url}/api/v0.2/${query.path}`, {
          headers: { Authorization: `Token ${query.admin ? tokens.admin : tokens.ci}` },
        });
        const page = await response.json() as { count?: number };
        if (!response.ok || typeof page.count !== "number") {
          throw new Error(`${query.path}: ${response.status}`);
        }
        if (i >= 5) times.push(performance.now() - started); // the first few warm the caches
      }
      pages.push({ name: query.name, p50: percentile(times, 0.5), p99: percentile(times, 0.99) });
    }

    const definition = stringify({
      ...qemuJob({ name: "notified" }),
      notify: {
        criteria: { status: "finished" },
        callbacks: [{
          url: `http://127.0.0.1:${receiver.addr.port}/callback`,
          method: "POST",
          dataset: "results",
          "content-type": "json",
        }],
      },
    });
    const latencies: number[] = [];
    for (let i = 0; i < CALLBACKS; i++) {
      const [job] = await master.lab.submit(definition, admin);
      const [id] = await worker.take(1);
      const ended = performance.now();
      worker.run(id, [[
        { dt: new Date().toISOString(), lvl: "results", msg: { definition: "0_smoke", case: "ok", result: "pass" } },
      ]]);
      const deadline = Date.now() + 10_000;
      while (!arrivals.has(job.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      if (!arrivals.has(job.id)) throw new Error(`no callback for job ${job.id}`);
      latencies.push(arrivals.get(job.id)! - ended);
    }
    return { backend, pages, callbackP50: percentile(latencies, 0.5), callbackP99: percentile(latencies, 0.99) };
  } finally {
    await receiver.shutdown();
    await worker.close();
    await master.close();
  }
}

export async function runRestBench(args: string[] = []): Promise<RestBenchRow[]> {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, allowPositionals: true });
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-rest-" });
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

export function formatRestBench(rows: readonly RestBenchRow[]): string {
  const lines = [
    `REST v0.2 jobs/ pages at ${JOBS.toLocaleString("en")} jobs (target p99 < 50 ms), ` +
    `callbacks after the job ends (target p99 < 100 ms)`,
  ];
  for (const r of rows) {
    lines.push(`${r.backend}:`);
    for (const p of r.pages) lines.push(`  ${p.name.padEnd(40)} p50 ${p.p50} ms  p99 ${p.p99} ms`);
    lines.push(`  ${"callback delivery".padEnd(40)} p50 ${r.callbackP50} ms  p99 ${r.callbackP99} ms`);
  }
  return lines.join("\n");
}

if (import.meta.main) console.log(formatRestBench(await runRestBench(Deno.args)));
