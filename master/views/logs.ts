/**
 * A job's log as its readers take it: pages of LAVA's YAML for lavacli, the
 * last lines for a job's page, and the lines a page draws the pipeline from.
 */
import { JobState } from "../../actors/domain/states.ts";
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { countLogLines, lavaLogLine, readLogLines } from "../storage/job_logs.ts";

/** The most log lines one `scheduler.jobs.logs` call returns. */
export const LOG_PAGE_LINES = 100_000;

/** Log records `[start, end)` as LAVA's YAML list, and whether the job has finished. */
export async function jobLogs(
  lab: Lab,
  id: number,
  start = 0,
  end?: number,
): Promise<{ finished: boolean; yaml: string }> {
  const job = await lab.db.selectFrom("test_jobs").select("state").where("id", "=", id).executeTakeFirst();
  if (!job) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  const records = await readLogLines(lab.db, id, { start: Math.max(0, start), end, limit: LOG_PAGE_LINES + 1 });
  // A page, not the whole log: a finished job's log can be millions of lines. lavacli asks again from where the
  // page ended while `finished` is false, so a cut page says the job has not finished yet.
  const more = records.length > LOG_PAGE_LINES;
  const text = records.slice(0, LOG_PAGE_LINES).map(lavaLogLine).join("\n");
  return { finished: job.state === JobState.byName.Finished && !more, yaml: text ? `${text}\n` : "[]" };
}

/** A log line as pages and their islands carry it: the time as an ISO string. */
export interface PageLogLine {
  readonly line: number;
  readonly dt: string;
  readonly lvl: string;
  readonly msg: unknown;
}

/** How many lines a job's log has, and its last `lines` of them. */
export async function logTail(lab: Lab, id: number, lines: number): Promise<{ total: number; tail: PageLogLine[] }> {
  const total = await countLogLines(lab.db, id);
  const tail = (await readLogLines(lab.db, id, { start: Math.max(0, total - lines) })).map((l) => ({
    line: l.line,
    dt: new Date(l.dt).toISOString(),
    lvl: l.lvl,
    msg: l.msg,
  }));
  return { total, tail };
}

/**
 * The lines a job's pipeline is drawn from: its `start:`/`end:` lines (a partial index holds them), then the
 * `lava` suite's failed cases as `results` lines.
 */
export async function pipelineLines(lab: Lab, id: number): Promise<Omit<PageLogLine, "line">[]> {
  const [marks, failed] = await Promise.all([
    lab.db.selectFrom("job_log_lines").select(["dt", "level", "message"])
      .where("job_id", "=", id).where("level", "=", "info")
      .where((eb) => eb.or([eb("message", "like", '"start: %'), eb("message", "like", '"end: %')]))
      .orderBy("line").limit(10_000).execute(),
    lab.db.selectFrom("test_cases as c").innerJoin("test_suites as s", "s.id", "c.suite_id")
      .select(["c.name", "c.metadata"]).where("s.job_id", "=", id).where("s.name", "=", "lava")
      .where("c.result", "=", 1)
      .execute(),
  ]);
  const lines = marks.map((r) => ({ dt: new Date(r.dt).toISOString(), lvl: r.level, msg: JSON.parse(r.message) }));
  const failures = failed.map((f) => ({ dt: "", lvl: "results", msg: { ...(f.metadata as object), result: "fail" } }));
  return [...lines, ...failures];
}
