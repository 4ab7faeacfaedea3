/**
 * Test results as LAVA keeps them: the dispatcher's `results` log records become
 * test suites (one per test definition run, plus `lava`), optional test sets,
 * and test cases with their result, measurement and units — stored in the same
 * transaction as the log lines that carried them, so a result is never stored
 * without its line or twice. Exported per job as LAVA's YAML and CSV.
 *
 * A record is what a device printed, relayed by a worker, and is made storable
 * before it reaches the database: names have control characters escaped and are
 * cut to LAVA's widths, a measurement the results table cannot hold fails its
 * case, and metadata too large or too deep is cut to its essentials. Each change
 * is named in the case's `error_msg`.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { stringify } from "yaml";
import { TestResult } from "../../actors/domain/states.ts";
import type { Database } from "../storage/schema.ts";
import { nestsDeeperThan, storableJson, storableText } from "../storage/storable.ts";

type TestResultName = (typeof TestResult.names)[number];

export interface ResultRecord {
  /** The log line that carried it. */
  readonly line: number;
  readonly msg: Record<string, unknown>;
}

/** Longest names kept, as LAVA's results tables keep them. */
export const MAX_SUITE_NAME = 200;
export const MAX_SET_NAME = 200;
export const MAX_CASE_NAME = 100;
export const MAX_UNITS = 100;
/** A case's metadata longer than this (as JSON) or nested deeper is cut to its essentials. */
export const MAX_METADATA = 16_384;
export const MAX_METADATA_DEPTH = 16;
/** numeric(30, 10) holds twenty integer digits. */
export const MAX_MEASUREMENT = 1e20;
const MAX_MEASUREMENT_TEXT = 100;
// numeric's input takes exponents up to ±1000; three digits stay inside.
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/** A name as stored: control characters written `\xNN`, cut at `max`; `problem` says what was changed. */
function storableName(what: string, raw: string, max: number): { name: string; problem?: string } {
  const escaped = storableText(raw.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  const name = escaped.slice(0, max).toWellFormed();
  const problems = [
    ...(escaped !== raw ? ["control or unpaired characters escaped"] : []),
    ...(name.length < escaped.length ? [`cut to ${max} characters`] : []),
  ];
  return problems.length ? { name, problem: `${what} ${problems.join(", ")}` } : { name };
}

/** One test case as it goes into the database. */
export interface StorableCase {
  readonly suite: string;
  readonly set?: string;
  readonly name: string;
  readonly result: TestResultName;
  /** A decimal numeric(30, 10) takes, or null. */
  readonly measurement: string | null;
  readonly units: string;
  /** JSON that jsonb takes. */
  readonly metadata: string;
  readonly line: number;
}

/**
 * A `results` record as it can be stored, or undefined when it names no suite or
 * case (LAVA ignores those too).
 *
 * @example
 * ```ts
 * storableCase({ line: 7, msg: { definition: "0_perf", case: "bw", result: "pass", measurement: 1e20 } });
 * // { suite: "0_perf", name: "bw", result: "fail", measurement: null, ..., metadata: '{..."error_msg":"measurement 1e+20 is not ..."}' }
 * ```
 */
export function storableCase(record: ResultRecord): StorableCase | undefined {
  const { definition, case: caseName, set, result, measurement, units } = record.msg;
  if (typeof definition !== "string" || typeof caseName !== "string") return undefined;
  const problems: string[] = [];
  const named = (what: string, raw: string, max: number) => {
    const { name, problem } = storableName(what, raw, max);
    if (problem) problems.push(problem);
    return name;
  };
  const suite = named("suite name", definition, MAX_SUITE_NAME);
  const setName = typeof set === "string" ? named("set name", set, MAX_SET_NAME) : undefined;
  const name = named("case name", caseName, MAX_CASE_NAME);
  const unitsText = typeof units === "string" ? named("units", units, MAX_UNITS) : "";
  let outcome: TestResultName = TestResult.names.includes(result as TestResultName)
    ? result as TestResultName
    : "unknown";
  let measured: string | null = null;
  if (measurement !== undefined && measurement !== null && measurement !== "") {
    const text = typeof measurement === "number" || typeof measurement === "string" ? String(measurement) : undefined;
    const value = Number(text);
    if (
      text !== undefined && text.length <= MAX_MEASUREMENT_TEXT && DECIMAL.test(text) && Number.isFinite(value) &&
      Math.abs(value) < MAX_MEASUREMENT
    ) {
      measured = text;
    } else {
      // As LAVA's dispatcher does: a measurement that is not one fails its case.
      const shown = storableName("", JSON.stringify(measurement) ?? String(measurement), 40).name;
      problems.push(`measurement ${shown} is not a decimal number below ${MAX_MEASUREMENT}`);
      outcome = "fail";
    }
  }
  return {
    suite,
    ...(setName !== undefined ? { set: setName } : {}),
    name,
    result: outcome,
    measurement: measured,
    units: unitsText,
    metadata: caseMetadata(record.msg, outcome, problems),
    line: record.line,
  };
}

function caseMetadata(msg: Record<string, unknown>, result: TestResultName, problems: string[]): string {
  const errorMsg = (extra: readonly string[]) =>
    [...(typeof msg.error_msg === "string" ? [msg.error_msg] : []), ...extra].join("; ");
  const full = problems.length ? { ...msg, result, error_msg: errorMsg(problems) } : msg;
  const deep = nestsDeeperThan(full, MAX_METADATA_DEPTH);
  const json = deep ? "" : storableJson(full);
  if (!deep && json.length <= MAX_METADATA) return json;
  // Like LAVA for metadata past its limit: keep what identifies the case and why it failed.
  const kept: Record<string, unknown> = {};
  for (const key of ["definition", "case", "set", "error_type", "level", "duration"]) {
    if (typeof msg[key] === "string") kept[key] = (msg[key] as string).slice(0, 1000);
  }
  const cut = deep
    ? `metadata nested deeper than ${MAX_METADATA_DEPTH} levels`
    : `metadata over ${MAX_METADATA} characters`;
  return storableJson({ ...kept, result, error_msg: errorMsg([...problems, `${cut} was cut`]).slice(0, 4000) });
}

/** Stores the results of one batch of log lines. */
export async function storeResults(trx: Transaction<Database>, jobId: number, records: readonly ResultRecord[]) {
  const cases = records.map(storableCase).filter((c) => c !== undefined);
  if (cases.length === 0) return;
  // Names are compared as stored: two names cut to the same one are one suite.
  const suiteNames = [...new Set(cases.map((c) => c.suite))];
  const suites = await trx.insertInto("test_suites")
    .values(suiteNames.map((name) => ({ job_id: jobId, name })))
    .onConflict((oc) => oc.columns(["job_id", "name"]).doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
    .returning(["id", "name"])
    .execute();
  const suiteIds = new Map(suites.map((s) => [s.name, s.id]));
  const setKey = (suiteId: number, name: string) => `${suiteId}/${name}`;
  const wantedSets = new Map<string, { suite_id: number; name: string }>();
  for (const c of cases) {
    if (c.set === undefined) continue;
    const suiteId = suiteIds.get(c.suite)!;
    wantedSets.set(setKey(suiteId, c.set), { suite_id: suiteId, name: c.set });
  }
  const setIds = new Map<string, number>();
  if (wantedSets.size > 0) {
    const sets = await trx.insertInto("test_sets")
      .values([...wantedSets.values()])
      .onConflict((oc) => oc.columns(["suite_id", "name"]).doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
      .returning(["id", "suite_id", "name"])
      .execute();
    for (const s of sets) setIds.set(setKey(s.suite_id, s.name), s.id);
  }
  await trx.insertInto("test_cases").values(cases.map((c) => {
    const suiteId = suiteIds.get(c.suite)!;
    return {
      suite_id: suiteId,
      test_set_id: c.set === undefined ? null : setIds.get(setKey(suiteId, c.set)) ?? null,
      name: c.name,
      result: TestResult.code(c.result),
      measurement: c.measurement,
      units: c.units,
      metadata: c.metadata,
      start_log_line: c.line,
      end_log_line: c.line,
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
    metadata: storableJson(metadata),
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
