/**
 * The job log: LAVA's `{dt, lvl, msg}` records, numbered by the dispatcher from
 * line 0, appended in batches and never rewritten. A batch that arrives twice
 * (the mailbox delivers at least once) lands once.
 *
 * Records come from devices by way of workers: a message is kept as JSON text, so
 * whatever characters it holds (NUL included) come back as they were sent; a time
 * the database cannot hold is replaced by the time the master stored the line.
 */
import { type Kysely, sql } from "kysely";
import type { Part } from "./journal.ts";
import type { Database } from "./schema.ts";
import { cutDeeperThan, nestsDeeperThan, storableText, storableTime } from "./storable.ts";

export interface LogRecord {
  readonly line: number;
  /** UTC time the dispatcher logged it. */
  readonly dt: Date | string;
  readonly lvl: string;
  /** A string for most levels, a mapping for `results`. */
  readonly msg: unknown;
}

/** A record's `msg` nests at most this deep (LAVA's go three or four levels). */
export const MAX_LOG_DEPTH = 32;

/**
 * A record's `msg` as the master keeps it: anything nested deeper than
 * MAX_LOG_DEPTH is replaced by a note, because serialising a deeper value can
 * exhaust the stack, and jsonb refuses it (PGlite spins on it).
 */
export function boundedLogMessage(msg: unknown): unknown {
  if (!nestsDeeperThan(msg, MAX_LOG_DEPTH)) return msg;
  return cutDeeperThan(msg, MAX_LOG_DEPTH, `[nested deeper than ${MAX_LOG_DEPTH} levels: cut]`);
}

/**
 * The statement that appends records (one, whatever their number: `unnest`
 * keeps it at five parameters), for the journal to send with the rest of its
 * batch; undefined when there are none.
 *
 * @example
 * ```ts
 * const insert = logLinesInsert(42, [{ line: 0, dt: new Date(), lvl: "info", msg: "start: 0 validate" }]);
 * if (insert) scope.journal(statementWork(insert, (error) => failJob(42, error)));
 * ```
 */
export function logLinesInsert(
  jobId: number,
  records: readonly LogRecord[],
): Part | undefined {
  if (records.length === 0) return undefined;
  const lines = new Array<number>(records.length);
  const times = new Array<string>(records.length);
  const levels = new Array<string>(records.length);
  const messages = new Array<string>(records.length);
  const received = new Date();
  records.forEach((r, i) => {
    lines[i] = r.line;
    times[i] = storableTime(r.dt, received);
    levels[i] = storableText(r.lvl);
    messages[i] = JSON.stringify(r.msg ?? null);
  });
  const statement = sql`
    INSERT INTO job_log_lines (job_id, line, dt, level, message)
    SELECT ${jobId}::integer, * FROM unnest(
      ${lines}::integer[], ${times}::timestamptz[], ${levels}::text[], ${messages}::text[])
    ON CONFLICT (job_id, line) DO NOTHING`;
  return { statement, parameters: 5 };
}

/**
 * Appends records in one statement; returns how many were new.
 *
 * @example
 * ```ts
 * await appendLogLines(db, 42, [{ line: 0, dt: new Date(), lvl: "info", msg: "start: 0 validate" }]);
 * ```
 */
export async function appendLogLines(
  db: Kysely<Database>,
  jobId: number,
  records: readonly LogRecord[],
): Promise<number> {
  const insert = logLinesInsert(jobId, records);
  if (!insert) return 0;
  const result = await insert.statement.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export interface StoredLogRecord {
  readonly line: number;
  readonly dt: Date;
  readonly lvl: string;
  readonly msg: unknown;
}

/** One record as a line of LAVA's YAML log (`output.yaml`): `- {"dt": ..., "lvl": ..., "msg": ...}`. */
export function lavaLogLine(record: Pick<StoredLogRecord, "dt" | "lvl" | "msg">): string {
  const dt = new Date(record.dt).toISOString().replace("Z", "+00:00");
  return `- ${JSON.stringify({ dt, lvl: record.lvl, msg: record.msg })}`;
}

/** Records from line `start` (inclusive) to `end` (exclusive), in order. */
export async function readLogLines(
  db: Kysely<Database>,
  jobId: number,
  range: { start?: number; end?: number; limit?: number } = {},
): Promise<StoredLogRecord[]> {
  let query = db.selectFrom("job_log_lines")
    .select(["line", "dt", "level", "message"])
    .where("job_id", "=", jobId)
    .where("line", ">=", range.start ?? 0)
    .orderBy("line");
  if (range.end !== undefined) query = query.where("line", "<", range.end);
  if (range.limit !== undefined) query = query.limit(range.limit);
  const rows = await query.execute();
  return rows.map((r) => ({ line: r.line, dt: r.dt, lvl: r.level, msg: JSON.parse(r.message) }));
}

/**
 * How many lines of the job's log are stored. Lines are numbered from 0 and
 * land in order, so this is the highest number plus one: an index lookup,
 * where counting would read a million rows.
 */
export async function countLogLines(db: Kysely<Database>, jobId: number): Promise<number> {
  const row = await db.selectFrom("job_log_lines")
    .select((eb) => eb.fn.max("line").as("last"))
    .where("job_id", "=", jobId)
    .executeTakeFirst();
  return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
}

/** Lines of the given levels, `offset` matching lines in, and how many match in all. */
export async function readFilteredLogLines(
  db: Kysely<Database>,
  jobId: number,
  levels: readonly string[],
  page: { offset: number; limit: number },
): Promise<{ total: number; lines: StoredLogRecord[] }> {
  const [count, rows] = await Promise.all([
    db.selectFrom("job_log_lines").select((eb) => eb.fn.countAll<number>().as("n"))
      .where("job_id", "=", jobId).where("level", "in", levels).executeTakeFirstOrThrow(),
    db.selectFrom("job_log_lines").select(["line", "dt", "level", "message"])
      .where("job_id", "=", jobId).where("level", "in", levels).orderBy("line")
      .offset(page.offset).limit(page.limit).execute(),
  ]);
  return {
    total: Number(count.n),
    lines: rows.map((r) => ({ line: r.line, dt: r.dt, lvl: r.level, msg: JSON.parse(r.message) })),
  };
}
