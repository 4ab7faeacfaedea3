/** What the JSON API's routes share: the lab, its live streams and events, and the checks every route starts with. */
import type { Context } from "hono";
import type { EventAudience } from "../../lab/event_audience.ts";
import type { Lab } from "../../lab/lab.ts";
import { type Access, accessFor, assertVisible, resolveJobId } from "../../views/mod.ts";
import { BODY_LIMITS, readBodyText } from "../body.ts";
import type { HttpEnv } from "../env.ts";
import { HttpError } from "../errors.ts";
import type { LiveStreams } from "../live.ts";

export interface RestContext {
  readonly lab: Lab;
  readonly live: LiveStreams;
  /** The lab's events as each subscriber may see them. */
  readonly audience: () => EventAudience;
}

/** The caller's standing under the lab's visibility rules, read for this request. */
export function accessOf(lab: Lab, c: Context<HttpEnv>): Promise<Access> {
  return accessFor(lab, c.get("user"));
}

/** A job the caller may see, from the path's id or sub-id. */
export async function visibleJob(lab: Lab, c: Context<HttpEnv>): Promise<number> {
  const id = await resolveJobId(lab, c.req.param("id"));
  await assertVisible(lab, id, c.get("user"));
  return id;
}

/** The body as a JSON object, within the JSON API's limit; 400 for anything else. */
export async function readJsonObject(c: Context<HttpEnv>): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw, BODY_LIMITS.json);
  try {
    const body = JSON.parse(text);
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return body;
  } catch { /* below */ }
  throw new HttpError(400, "the body must be a JSON object");
}
