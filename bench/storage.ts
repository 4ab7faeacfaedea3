/**
 * Batched log-line inserts per second on both storage backends.
 * Target: at least 50,000 lines/s batched on PostgreSQL.
 *
 *   deno task bench storage [--db postgres://...]
 *
 * Without --db a private PostgreSQL cluster is started on 127.0.0.1 (as the tests do).
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { openStorage, type Storage } from "../master/storage/database.ts";
import { appendLogLines, countLogLines, type LogRecord } from "../master/storage/job_logs.ts";
import { addUser } from "../master/storage/users.ts";
import { startPostgres } from "../tests/support/postgres.ts";

export interface StorageBenchRow {
  backend: string;
  batch: number;
  lines: number;
  seconds: number;
  linesPerSecond: number;
}

const SAMPLE = "[    1.234567] virtio_net virtio0 enp0s2: renamed from eth0; link up at 1000 Mb/s full duplex";

async function measure(storage: Storage, backend: string, batch: number, lines: number): Promise<StorageBenchRow> {
  const user = await addUser(storage.db, { username: `bench${crypto.randomUUID().slice(0, 8)}` });
  const job = await storage.db.insertInto("test_jobs").values({ definition: "bench", submitter_id: user.id })
    .returning("id").executeTakeFirstOrThrow();
  const dt = new Date();
  const start = performance.now();
  for (let from = 0; from < lines; from += batch) {
    const records: LogRecord[] = [];
    for (let line = from; line < Math.min(from + batch, lines); line++) {
      records.push({ line, dt, lvl: "target", msg: `${SAMPLE} #${line}` });
    }
    await appendLogLines(storage.db, job.id, records);
  }
  const seconds = (performance.now() - start) / 1000;
  const stored = await countLogLines(storage.db, job.id);
  if (stored !== lines) throw new Error(`stored ${stored} lines, expected ${lines}`);
  return { backend, batch, lines, seconds, linesPerSecond: Math.round(lines / seconds) };
}

export async function runStorageBench(args: string[] = []): Promise<StorageBenchRow[]> {
  const { values } = parseArgs({ args, options: { db: { type: "string" } }, allowPositionals: true });
  const rows: StorageBenchRow[] = [];
  const plans: [number, number][] = [[100, 50_000], [1000, 200_000], [5000, 200_000]];

  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-" });
  const pglite = await openStorage({ kind: "pglite", dataDir: dir });
  try {
    for (const [batch, lines] of plans) rows.push(await measure(pglite, "pglite", batch, lines / 2));
  } finally {
    await pglite.close();
    await Deno.remove(dir, { recursive: true });
  }

  const server = values.db ? undefined : await startPostgres();
  try {
    const url = values.db ?? await server!.createDatabase();
    const postgres = await openStorage({ kind: "postgres", url });
    try {
      for (const [batch, lines] of plans) rows.push(await measure(postgres, "postgres", batch, lines));
    } finally {
      await postgres.close();
    }
  } finally {
    await server?.stop();
  }
  return rows;
}

export function formatStorageBench(rows: readonly StorageBenchRow[]): string {
  const lines = rows.map((r) =>
    `${r.backend.padEnd(9)} batch ${String(r.batch).padStart(5)}  ${String(r.lines).padStart(7)} lines  ` +
    `${r.seconds.toFixed(2).padStart(6)} s  ${String(r.linesPerSecond).padStart(7)} lines/s`
  );
  const best = Math.max(...rows.filter((r) => r.backend === "postgres").map((r) => r.linesPerSecond));
  lines.push(`target: >= 50000 lines/s batched on PostgreSQL: ${best >= 50_000 ? "met" : "NOT met"} (${best})`);
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(formatStorageBench(await runStorageBench(Deno.args)));
}
