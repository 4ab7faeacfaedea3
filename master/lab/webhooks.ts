/**
 * A job's `notify` callbacks: when the job ends in a state its criteria name,
 * each callback URL gets the job (and, by `dataset`, its results or log) as JSON
 * or a form. Deliveries are stored before they are tried and retried with
 * growing delays until the receiver answers 2xx, so neither a receiver that is
 * down nor a master restart loses one.
 */
import type { Kysely } from "kysely";
import { parse as parseYaml } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import type { JobContext } from "../../actors/machines/job.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { Database } from "../storage/schema.ts";
import { readLogLines } from "../storage/job_logs.ts";
import { exportCases } from "./results.ts";

const MAX_ATTEMPTS = 10;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10 * 60_000;
const TIMEOUT_MS = 30_000;
/**
 * What one notification may carry: a job's log or results can be millions of lines, and a job can name many
 * callbacks. The payload is built when it is sent, from what is stored, never copied per callback; past these
 * bounds it says it was cut (`log_truncated`, `results_truncated`).
 */
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

interface Callback {
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly token?: string;
  readonly header: string;
  readonly dataset: "minimal" | "logs" | "results" | "all";
  readonly contentType: "json" | "urlencoded";
}

function callbacksOf(notify: Record<string, unknown>): Callback[] {
  const list = Array.isArray(notify.callbacks) ? notify.callbacks : notify.callback ? [notify.callback] : [];
  return list.filter(isMapping).filter((c) => typeof c.url === "string").map((c) => ({
    url: String(c.url),
    method: c.method === "GET" ? "GET" : "POST",
    token: typeof c.token === "string" ? c.token : undefined,
    header: typeof c.header === "string" ? c.header : "Authorization",
    dataset: (["minimal", "logs", "results", "all"].includes(String(c.dataset)) ? c.dataset : "minimal") as Callback[
      "dataset"
    ],
    contentType: c["content-type"] === "urlencoded" ? "urlencoded" : "json",
  }));
}

/** LAVA's criteria: `all`, `finished`, or the end health (`complete`, `incomplete`, `canceled`). */
function matches(criteria: unknown, health: string): boolean {
  const status = isMapping(criteria) ? String(criteria.status ?? "") : "";
  return status === "all" || status === "finished" || status === health.toLowerCase();
}

export class Webhooks {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(private readonly db: Kysely<Database>, private readonly logger: Logger) {}

  /** Resumes deliveries a previous master left owed. */
  async start(): Promise<void> {
    const owed = await this.db.selectFrom("webhook_deliveries").select(["id", "next_attempt"]).execute();
    for (const d of owed) this.#schedule(d.id, new Date(d.next_attempt).getTime() - Date.now());
  }

  async jobEnded(jobId: number, context: JobContext): Promise<void> {
    try {
      const job = await this.db.selectFrom("test_jobs")
        .leftJoin("users", "users.id", "test_jobs.submitter_id")
        .select([
          "test_jobs.definition",
          "test_jobs.description",
          "test_jobs.submit_time",
          "test_jobs.sub_id",
          "test_jobs.requested_device_type",
          "users.username",
        ])
        .where("test_jobs.id", "=", jobId).executeTakeFirst();
      if (!job) return;
      const definition = parseYaml(job.definition);
      const notify = isMapping(definition) && isMapping(definition.notify) ? definition.notify : undefined;
      if (!notify || !matches(notify.criteria, context.health)) return;
      for (const callback of callbacksOf(notify)) {
        const body: Record<string, unknown> = {
          id: jobId,
          sub_id: job.sub_id,
          state: "Finished",
          health: context.health,
          status: context.health,
          description: job.description,
          submitter: job.username,
          submit_time: new Date(job.submit_time).toISOString(),
          start_time: context.startTime ?? null,
          end_time: context.endTime ?? null,
          device: context.device ?? null,
          device_type: job.requested_device_type,
          failure_comment: context.errorMsg ?? null,
          error_type: context.errorType ?? null,
          token: callback.token ?? null,
        };
        const row = await this.db.insertInto("webhook_deliveries").values({
          job_id: jobId,
          url: callback.url,
          body: JSON.stringify({ callback, body }),
          token: callback.token ?? null,
        }).returning("id").executeTakeFirstOrThrow();
        this.#schedule(row.id, 0);
      }
    } catch (error) {
      this.logger.error("could not prepare a job's notifications", { job: jobId, error });
    }
  }

  /** The results and log a callback's `dataset` asks for, within NOTIFY_LIMITS. */
  async #dataset(jobId: number, dataset: Callback["dataset"]): Promise<Record<string, unknown>> {
    const extra: Record<string, unknown> = {};
    if (dataset === "results" || dataset === "all") {
      const cases = await exportCases(this.db, jobId, { limit: NOTIFY_LIMITS.results + 1 });
      extra.results = cases.slice(0, NOTIFY_LIMITS.results);
      if (cases.length > NOTIFY_LIMITS.results) extra.results_truncated = true;
    }
    if (dataset === "logs" || dataset === "all") {
      const lines = await readLogLines(this.db, jobId, { limit: NOTIFY_LIMITS.logLines + 1 });
      const log = [];
      let bytes = 0;
      for (const line of lines.slice(0, NOTIFY_LIMITS.logLines)) {
        const entry = { dt: line.dt, lvl: line.lvl, msg: line.msg };
        bytes += JSON.stringify(entry).length;
        if (bytes > NOTIFY_LIMITS.logBytes) break;
        log.push(entry);
      }
      extra.log = log;
      if (log.length < lines.length) extra.log_truncated = true;
    }
    return extra;
  }

  #schedule(id: number, delayMs: number): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const attempt = this.#attempt(id).finally(() => this.#inFlight.delete(attempt));
      this.#inFlight.add(attempt);
    }, Math.max(0, delayMs));
    this.#timers.add(timer);
  }

  async #attempt(id: number): Promise<void> {
    const row = await this.db.selectFrom("webhook_deliveries").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return;
    const { callback, body } = JSON.parse(row.body) as { callback: Callback; body: Record<string, unknown> };
    let error: string | undefined;
    try {
      Object.assign(body, await this.#dataset(row.job_id, callback.dataset));
      const headers: Record<string, string> = {};
      if (callback.token) headers[callback.header] = callback.token;
      let url = callback.url;
      let payload: string | undefined;
      if (callback.method === "GET") {
        const u = new URL(url);
        u.searchParams.set("id", String(body.id));
        u.searchParams.set("status", String(body.status));
        url = u.href;
      } else if (callback.contentType === "json") {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      } else {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        payload = new URLSearchParams(
          Object.entries(body).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
        ).toString();
      }
      const response = await fetch(url, {
        method: callback.method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (!error) {
      await this.db.deleteFrom("webhook_deliveries").where("id", "=", id).execute();
      return;
    }
    const attempts = row.attempts + 1;
    if (attempts >= MAX_ATTEMPTS) {
      this.logger.error("a job notification failed for good", { job: row.job_id, url: row.url, attempts, error });
      await this.db.deleteFrom("webhook_deliveries").where("id", "=", id).execute();
      return;
    }
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempts - 1));
    this.logger.warning("a job notification failed; it will be retried", {
      job: row.job_id,
      url: row.url,
      error,
      delay,
    });
    await this.db.updateTable("webhook_deliveries")
      .set({ attempts, last_error: error, next_attempt: new Date(Date.now() + delay) })
      .where("id", "=", id).execute();
    this.#schedule(id, delay);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await Promise.allSettled([...this.#inFlight]);
  }
}
