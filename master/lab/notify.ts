/**
 * A job's `notify` block read as LAVA reads it: each callback with LAVA's
 * defaults (GET, dataset `minimal`, content-type `urlencoded`, header
 * `Authorization`), whether the criteria ask for a notification at this state
 * and health (`all` at Running and at Finished, `running`, `finished`, or an end
 * health, with `type: regression|progression` against the health before), and
 * the `{FIELD}` placeholders of a callback's URL filled from the job.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { JobHealth, JobState, LegacyJobStatus, legacyJobStatus } from "../../actors/domain/states.ts";

export interface Callback {
  readonly url: string;
  readonly method: "GET" | "POST";
  /** The description of one of the submitter's callback tokens (or, failing that, sent as it is). */
  readonly token?: string;
  readonly header: string;
  readonly dataset: "minimal" | "logs" | "results" | "all";
  readonly contentType: "json" | "urlencoded";
}

const DATASETS = ["minimal", "logs", "results", "all"] as const;

export function callbacksOf(notify: Record<string, unknown>): Callback[] {
  const list = Array.isArray(notify.callbacks) ? notify.callbacks : isMapping(notify.callback) ? [notify.callback] : [];
  return list.filter(isMapping).filter((c) => typeof c.url === "string").map((c) => ({
    url: String(c.url),
    method: c.method === "POST" ? "POST" : "GET",
    token: typeof c.token === "string" && c.token ? c.token : undefined,
    header: typeof c.header === "string" && /^[A-Za-z0-9-]{1,64}$/.test(c.header) ? c.header : "Authorization",
    dataset: DATASETS.find((d) => d === c.dataset) ?? "minimal",
    contentType: c["content-type"] === "json" ? "json" : "urlencoded",
  }));
}

/** Whether `criteria` ask for a notification now; `before` is the job's health before this change. */
export function criteriaMatch(criteria: unknown, state: number, health: number, before: number): boolean {
  if (!isMapping(criteria)) return false;
  const status = String(criteria.status ?? "");
  const s = JobState.byName;
  if (status === "all") return state === s.Running || state === s.Finished;
  if (status === "finished") return state === s.Finished;
  if (status === "running") return state === s.Running;
  const h = JobHealth.byName;
  const wanted = status === "complete" ? h.Complete : status === "incomplete" ? h.Incomplete : h.Canceled;
  if (health !== wanted) return false;
  if (criteria.type === "regression") return before === h.Complete && health === h.Incomplete;
  if (criteria.type === "progression") return before === h.Incomplete && health === h.Complete;
  return true;
}

/** The job's fields a callback URL may name as `{FIELD}`, as Python's `str()` prints them. */
export interface UrlFields {
  readonly [field: string]: string | number | boolean | null | undefined;
}

/** A callback URL with its `{FIELD}` placeholders filled; an unknown field stays as written, as in LAVA. */
export function fillCallbackUrl(url: string, fields: UrlFields, state: number, health: number): string {
  return url.replace(/\{\s*[A-Z_-]*\s*\}/g, (placeholder) => {
    const name = placeholder.slice(1, -1).trim().toLowerCase();
    const status = legacyJobStatus(state, health);
    if (name === "status") return String(status);
    if (name === "status_string") return LegacyJobStatus.name(status).toLowerCase();
    if (name === "state") return String(state);
    if (name === "health") return String(health);
    if (!Object.hasOwn(fields, name)) return placeholder;
    const value = fields[name];
    return value === null || value === undefined
      ? "None"
      : typeof value === "boolean"
      ? (value ? "True" : "False")
      : String(value);
  });
}
