/**
 * A job as LAVA's notification callbacks describe it (`create_job_data`, as
 * current LAVA sends it: 2023.01's fields with `submitter_email` and
 * `health_check`, and the token's secret in the header only, no longer in the
 * body): integer state, health and legacy status with their display strings,
 * times as Python prints them, `actual_device_id`, the definition and metadata, and
 * by dataset the whole log as LAVA's YAML text and the results as
 * `{suite: YAML text}`. Bounded by NOTIFY_LIMITS: past them the text is cut and
 * `log_truncated` / `results_truncated` say so (LAVA has no bound).
 */
import type { Kysely } from "kysely";
import { JobHealth, JobState, LegacyJobStatus, legacyJobStatus } from "../../actors/domain/states.ts";
import { lavaLogLine, readLogLines } from "../storage/job_logs.ts";
import type { Database } from "../storage/schema.ts";
import { pythonTime } from "./python_wire.ts";
import { casesAsYaml, exportCases } from "./results.ts";

/** What one notification may carry; the payload is built when sent, from what is stored. */
export const NOTIFY_LIMITS = {
  /** Callbacks of one job; more are refused at submission. */
  callbacks: 20,
  /** Log lines in one notification. */
  logLines: 100_000,
  /** Log text in one notification. */
  logBytes: 16 * 2 ** 20,
  /** Test cases in one notification. */
  results: 50_000,
} as const;

/**
 * A job's metadata as LAVA gives it (`get_metadata_dict`): a list of one-entry mappings, one per attribute, the
 * value as text (a nested value as its JSON).
 */
export function lavaMetadataList(metadata: unknown): Record<string, string>[] {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return [];
  return Object.entries(metadata).map(([name, value]) => ({
    [name]: typeof value === "string" ? value : JSON.stringify(value),
  }));
}

export interface JobDataOptions {
  /** The state and health the notification is for (a retry later still says what was true then). */
  readonly state: number;
  readonly health: number;
  readonly log?: boolean;
  readonly results?: boolean;
}

/** The job's data, or undefined when it is gone (purged). */
export async function lavaJobData(
  db: Kysely<Database>,
  jobId: number,
  options: JobDataOptions,
): Promise<Record<string, unknown> | undefined> {
  const job = await db.selectFrom("test_jobs as j").leftJoin("users as u", "u.id", "j.submitter_id")
    .select([
      "j.id",
      "j.submit_time",
      "j.start_time",
      "j.end_time",
      "j.failure_comment",
      "j.error_type",
      "j.error_msg",
      "j.priority",
      "j.description",
      "j.actual_device",
      "j.definition",
      "j.metadata",
      "j.health_check",
      "u.username",
      "u.email",
    ])
    .where("j.id", "=", jobId).executeTakeFirst();
  if (!job) return undefined;
  const status = legacyJobStatus(options.state, options.health);
  const data: Record<string, unknown> = {
    id: job.id,
    status,
    status_string: LegacyJobStatus.name(status).toLowerCase(),
    state: options.state,
    state_string: JobState.name(options.state),
    health: options.health,
    health_string: JobHealth.name(options.health),
    submit_time: pythonTime(job.submit_time),
    start_time: pythonTime(job.start_time),
    end_time: pythonTime(job.end_time),
    submitter_username: job.username ?? "",
    submitter_email: job.email ?? "",
    failure_comment: job.failure_comment ?? (job.error_msg ? `${job.error_type}: ${job.error_msg}` : null),
    priority: job.priority,
    description: job.description,
    actual_device_id: job.actual_device,
    definition: job.definition,
    metadata: lavaMetadataList(job.metadata),
    health_check: job.health_check,
  };
  if (options.log) Object.assign(data, await logText(db, jobId));
  if (options.results) Object.assign(data, await resultsBySuite(db, jobId));
  return data;
}

async function logText(db: Kysely<Database>, jobId: number): Promise<Record<string, unknown>> {
  const records = await readLogLines(db, jobId, { limit: NOTIFY_LIMITS.logLines + 1 });
  const lines: string[] = [];
  let bytes = 0;
  for (const record of records.slice(0, NOTIFY_LIMITS.logLines)) {
    const line = lavaLogLine(record);
    bytes += line.length + 1;
    if (bytes > NOTIFY_LIMITS.logBytes) break;
    lines.push(line);
  }
  const out: Record<string, unknown> = { log: lines.length ? `${lines.join("\n")}\n` : "" };
  if (lines.length < records.length) out.log_truncated = true;
  return out;
}

async function resultsBySuite(db: Kysely<Database>, jobId: number): Promise<Record<string, unknown>> {
  const cases = await exportCases(db, jobId, { limit: NOTIFY_LIMITS.results + 1 });
  const suites = Map.groupBy(cases.slice(0, NOTIFY_LIMITS.results), (c) => c.suite);
  const names = await db.selectFrom("test_suites").select("name").where("job_id", "=", jobId).orderBy("id").execute();
  // Every suite, even one without a case, as LAVA lists them.
  const results: Record<string, string> = {};
  for (const { name } of names) results[name] = casesAsYaml(suites.get(name) ?? []);
  const out: Record<string, unknown> = { results };
  if (cases.length > NOTIFY_LIMITS.results) out.results_truncated = true;
  return out;
}
