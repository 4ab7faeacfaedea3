/**
 * A job's `notify` callbacks, sent as LAVA sends them (notify.ts reads the
 * block, job_data.ts builds the body): when the job starts Running or Finishes
 * in a state its criteria name, each callback URL is called — GET with no
 * body, or POST with the job's data as a form or JSON — with the secret of the
 * submitter's callback token of the description the job names in the
 * callback's header. Deliveries are stored before they are tried
 * (the secret still sealed) and retried with growing delays until the
 * receiver answers 2xx, so neither a receiver that is down nor a master
 * restart loses one; LAVA tries once.
 */
import type { Kysely } from "kysely";
import { parse as parseYaml } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import { sealContext, sealedCallbackToken } from "../storage/callback_tokens.ts";
import type { Database } from "../storage/schema.ts";
import type { SecretBox } from "../storage/secret_box.ts";
import { lavaJobData } from "./job_data.ts";
import { type Callback, callbacksOf, criteriaMatch, fillCallbackUrl } from "./notify.ts";
import { pythonForm, pythonJson } from "./python_wire.ts";

export { NOTIFY_LIMITS } from "./job_data.ts";

const MAX_ATTEMPTS = 10;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10 * 60_000;
const TIMEOUT_MS = 30_000;

/** What a stored delivery holds: the callback and the state and health it reports. */
interface Owed {
  readonly callback: Callback;
  readonly state: number;
  readonly health: number;
}

export class Webhooks {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    /** Opens callback tokens' secrets; without it a callback sends the token's name, as LAVA does for an unknown one. */
    private readonly box?: SecretBox,
  ) {}

  /** Resumes deliveries a previous master left owed. */
  async start(): Promise<void> {
    const owed = await this.db.selectFrom("webhook_deliveries").select(["id", "next_attempt"]).execute();
    for (const d of owed) this.#schedule(d.id, new Date(d.next_attempt).getTime() - Date.now());
  }

  /** The job went Running, or Finished with `health` (codes): its callbacks whose criteria match are owed. */
  async jobChanged(jobId: number, state: number, health: number): Promise<void> {
    try {
      const job = await this.db.selectFrom("test_jobs")
        .select(["definition", "description", "submitter_id", "requested_device_type", "actual_device", "priority"])
        .where("id", "=", jobId).executeTakeFirst();
      // Most jobs notify nobody: no YAML is parsed for them.
      if (!job || !job.definition.includes("notify")) return;
      const definition = parseYaml(job.definition);
      const notify = isMapping(definition) && isMapping(definition.notify) ? definition.notify : undefined;
      if (!notify) return;
      const before = isMapping(notify.criteria) && notify.criteria.type
        ? await this.#previousHealth(jobId, job)
        : JobHealth.byName.Unknown;
      if (!criteriaMatch(notify.criteria, state, health, before)) return;
      for (const callback of callbacksOf(notify)) {
        const url = fillCallbackUrl(
          callback.url,
          {
            id: jobId,
            description: job.description,
            priority: job.priority,
            actual_device_id: job.actual_device,
            requested_device_type_id: job.requested_device_type,
          },
          state,
          health,
        );
        const sealed = callback.token && this.box
          ? await sealedCallbackToken(this.db, job.submitter_id, callback.token)
          : undefined;
        const owed: Owed = { callback: { ...callback, url }, state, health };
        const row = await this.db.insertInto("webhook_deliveries").values({
          job_id: jobId,
          url,
          body: JSON.stringify(owed),
          token: sealed ?? callback.token ?? null,
          token_sealed: sealed !== undefined,
        }).returning("id").executeTakeFirstOrThrow();
        this.#schedule(row.id, 0);
      }
    } catch (error) {
      this.logger.error("could not prepare a job's notifications", { job: jobId, error });
    }
  }

  /** The health of the submitter's previous finished job of the same description and device type. */
  async #previousHealth(
    jobId: number,
    job: { description: string; submitter_id: number; requested_device_type: string | null },
  ): Promise<number> {
    let query = this.db.selectFrom("test_jobs").select("health")
      .where("id", "<", jobId).where("submitter_id", "=", job.submitter_id)
      .where("description", "=", job.description).where("state", "=", JobState.byName.Finished);
    if (job.requested_device_type !== null) {
      query = query.where("requested_device_type", "=", job.requested_device_type);
    }
    const row = await query.orderBy("id", "desc").limit(1).executeTakeFirst();
    return row?.health ?? JobHealth.byName.Unknown;
  }

  /** The secret a delivery sends, opened only for the request. */
  async #secret(row: { token: string | null; token_sealed: boolean; job_id: number }, callback: Callback) {
    if (row.token === null) return undefined;
    if (!row.token_sealed) return row.token;
    if (!this.box) throw new Error("the master has no secrets key to open the callback token with");
    const job = await this.db.selectFrom("test_jobs").select("submitter_id").where("id", "=", row.job_id)
      .executeTakeFirstOrThrow();
    return await this.box.unseal(row.token, sealContext(job.submitter_id, callback.token ?? ""));
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
    const owed = JSON.parse(row.body) as Partial<Owed> & { callback: Callback };
    const job = await this.db.selectFrom("test_jobs").select(["state", "health"]).where("id", "=", row.job_id)
      .executeTakeFirst();
    if (!job) {
      await this.db.deleteFrom("webhook_deliveries").where("id", "=", id).execute();
      return;
    }
    // A delivery owed by a master before 0007 did not keep what it reported: the job's end.
    const { callback, state = job.state, health = job.health } = owed;
    let error: string | undefined;
    try {
      const token = await this.#secret(row, callback);
      const headers: Record<string, string> = {};
      if (token !== undefined) headers[callback.header] = token;
      let payload: string | undefined;
      if (callback.method === "POST") {
        const data = await lavaJobData(this.db, row.job_id, {
          state,
          health,
          log: callback.dataset === "logs" || callback.dataset === "all",
          results: callback.dataset === "results" || callback.dataset === "all",
        });
        if (!data) throw new Error("the job was removed");
        headers["Content-Type"] = callback.contentType === "json"
          ? "application/json"
          : "application/x-www-form-urlencoded";
        payload = callback.contentType === "json" ? pythonJson(data) : pythonForm(data);
      }
      const response = await fetch(callback.url, {
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
