/**
 * Test results as LAVA keeps them: the dispatcher's `results` log records become
 * test suites (one per test definition run, plus `lava`), optional test sets,
 * and test cases with their result, measurement and units — stored in the same
 * transaction as the log lines that carried them, so a result is never stored
 * without its line or twice. Exported per job as LAVA's YAML and CSV.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { stringify } from "yaml";
import { TestResult } from "../../actors/domain/states.ts";
import type { Database } from "../storage/schema.ts";

export interface ResultRecord {
  /** The log line that carried it. */
  readonly line: number;
  readonly msg: Record<string, unknown>;
}

const MEASUREMENT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Stores the results of one batch of log lines. */
export async function storeResults(trx: Transaction<Database>, jobId: number, records: readonly ResultRecord[]) {
  const usable = records.filter((r) => typeof r.msg.definition === "string" && typeof r.msg.case === "string");
  if (usable.length === 0) return;
  const suiteNames = [...new Set(usable.map((r) => String(r.msg.definition)))];
  const suites = await trx.insertInto("test_suites")
    .values(suiteNames.map((name) => ({ job_id: jobId, name })))
    .onConflict((oc) => oc.columns(["job_id", "name"]).doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
    .returning(["id", "name"])
    .execute();
  const suiteIds = new Map(suites.map((s) => [s.name, s.id]));
  const setKeys = [
    ...new Set(
      usable.filter((r) => typeof r.msg.set === "string").map((r) => `${r.msg.definition}\u0000${r.msg.set}`),
    ),
  ];
  const setIds = new Map<string, number>();
  if (setKeys.length > 0) {
    const sets = await trx.insertInto("test_sets")
      .values(setKeys.map((key) => {
        const [suite, name] = key.split("\u0000");
        return { suite_id: suiteIds.get(suite)!, name };
      }))
      .onConflict((oc) => oc.columns(["suite_id", "name"]).doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
      .returning(["id", "suite_id", "name"])
      .execute();
    const suiteNameById = new Map(suites.map((s) => [s.id, s.name]));
    for (const s of sets) setIds.set(`${suiteNameById.get(s.suite_id)}\u0000${s.name}`, s.id);
  }
  await trx.insertInto("test_cases").values(usable.map((r) => {
    const { definition, case: name, result, measurement, units, set } = r.msg;
    const measured = measurement === undefined || measurement === null ? null : String(measurement);
    return {
      suite_id: suiteIds.get(String(definition))!,
      test_set_id: typeof set === "string" ? setIds.get(`${definition}\u0000${set}`) ?? null : null,
      name: String(name).slice(0, 1000),
      result: TestResult.names.includes(result as "pass")
        ? TestResult.code(result as "pass")
        : TestResult.byName.unknown,
      measurement: measured !== null && MEASUREMENT.test(measured) ? measured : null,
      units: typeof units === "string" ? units.slice(0, 100) : "",
      metadata: JSON.stringify(r.msg),
      start_log_line: r.line,
      end_log_line: r.line,
    };
  })).execute();
}

/**
 * The `lava.job` case for a job that ran but whose dispatcher never logged one
 * (it was killed, crashed, or the master aborted the job): without it a result
 * query could not tell a lab failure from a job still to report. A case the
 * dispatcher did log is kept as it is.
 */
export async function recordJobOutcome(
  trx: Transaction<Database>,
  jobId: number,
  outcome: { readonly result: "pass" | "fail"; readonly errorType?: string; readonly errorMsg?: string },
): Promise<void> {
  const logged = await trx.selectFrom("test_cases as c")
    .innerJoin("test_suites as s", "s.id", "c.suite_id")
    .select("c.id")
    .where("s.job_id", "=", jobId).where("s.name", "=", "lava").where("c.name", "=", "job")
    .executeTakeFirst();
  if (logged) return;
  const suite = await trx.insertInto("test_suites").values({ job_id: jobId, name: "lava" })
    .onConflict((oc) => oc.columns(["job_id", "name"]).doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
    .returning("id").executeTakeFirstOrThrow();
  const metadata = {
    definition: "lava",
    case: "job",
    result: outcome.result,
    ...(outcome.errorType ? { error_type: outcome.errorType } : {}),
    ...(outcome.errorMsg ? { error_msg: outcome.errorMsg.slice(0, 10_000) } : {}),
  };
  await trx.insertInto("test_cases").values({
    suite_id: suite.id,
    name: "job",
    result: TestResult.code(outcome.result),
    metadata: JSON.stringify(metadata),
  }).execute();
}

/** One case as LAVA's `export_testcase` gives it. */
export interface ExportedCase {
  readonly id: string;
  readonly job: string;
  readonly suite: string;
  readonly name: string;
  readonly result: string;
  readonly measurement: string;
  readonly unit: string;
  readonly level: string;
  readonly url: string;
  readonly logged: string;
  readonly log_start_line: string;
  readonly log_end_line: string;
  readonly duration: string;
  readonly timeout: string;
  readonly metadata: Record<string, unknown>;
}

export interface CaseFilter {
  readonly suite?: string;
  readonly testCase?: string;
  readonly limit?: number;
  readonly offset?: number;
}

export async function exportCases(
  db: Kysely<Database>,
  jobId: number,
  filter: CaseFilter = {},
): Promise<ExportedCase[]> {
  let query = db.selectFrom("test_cases as c")
    .innerJoin("test_suites as s", "s.id", "c.suite_id")
    .select([
      "c.id",
      "c.name",
      "c.result",
      "c.measurement",
      "c.units",
      "c.metadata",
      "c.logged",
      "c.start_log_line",
      "c.end_log_line",
      "s.name as suite",
    ])
    .where("s.job_id", "=", jobId)
    .orderBy("c.id");
  if (filter.suite !== undefined) query = query.where("s.name", "=", filter.suite);
  if (filter.testCase !== undefined) query = query.where("c.name", "=", filter.testCase);
  if (filter.limit !== undefined) query = query.limit(filter.limit);
  if (filter.offset !== undefined) query = query.offset(filter.offset);
  const rows = await query.execute();
  return rows.map((r) => {
    const metadata = (r.metadata ?? {}) as Record<string, unknown>;
    const extra = (metadata.extra ?? {}) as Record<string, unknown>;
    return {
      id: String(r.id),
      job: String(jobId),
      suite: r.suite,
      name: r.name,
      result: TestResult.name(r.result),
      measurement: r.measurement === null ? "None" : String(Number(r.measurement)),
      unit: r.units,
      level: typeof metadata.level === "string" ? metadata.level : "",
      url: `/results/testcase/${r.id}`,
      logged: new Date(r.logged).toISOString(),
      log_start_line: r.start_log_line === null ? "None" : String(r.start_log_line),
      log_end_line: r.end_log_line === null ? "None" : String(r.end_log_line),
      duration: typeof metadata.duration === "string" ? metadata.duration : "",
      timeout: extra.timeout !== undefined ? String(extra.timeout) : "",
      metadata,
    };
  });
}

export function casesAsYaml(cases: readonly ExportedCase[]): string {
  return stringify(cases.map(({ duration: _d, timeout: _t, ...rest }) => rest));
}

const CSV_FIELDS = [
  "job",
  "suite",
  "result",
  "measurement",
  "unit",
  "duration",
  "timeout",
  "logged",
  "level",
  "metadata",
  "url",
  "name",
  "id",
  "log_start_line",
  "log_end_line",
] as const;

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function casesAsCsv(cases: readonly ExportedCase[]): string {
  const lines = [CSV_FIELDS.join(",")];
  for (const c of cases) {
    lines.push(CSV_FIELDS.map((f) => csvField(f === "metadata" ? JSON.stringify(c.metadata) : String(c[f]))).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

/** The suites of a job with their case counts, for `yaml_summary` and the suites list. */
export async function suiteSummary(db: Kysely<Database>, jobId: number) {
  const rows = await sql<{ id: number; name: string; total: number; pass: number; fail: number }>`
    SELECT s.id, s.name, count(c.id)::integer AS total,
      count(c.id) FILTER (WHERE c.result = 0)::integer AS pass,
      count(c.id) FILTER (WHERE c.result = 1)::integer AS fail
    FROM test_suites s LEFT JOIN test_cases c ON c.suite_id = s.id
    WHERE s.job_id = ${jobId} GROUP BY s.id, s.name ORDER BY s.id`.execute(db);
  return rows.rows.map((r) => ({
    id: r.id,
    name: r.name,
    job: String(jobId),
    total: r.total,
    pass: r.pass,
    fail: r.fail,
  }));
}
