/**
 * What every REST v0.2 answer shares with django-rest-framework's: the
 * `{count, next, previous, results}` page of LimitOffsetPagination (50 by
 * default; Basalt caps a page at 1000 where DRF has no cap), the `next` and
 * `previous` links as DRF writes them (absolute, query sorted), `{"detail": ...}`
 * errors, and the read-or-write permission rule (anyone reads, a user writes).
 */
import type { Context } from "hono";
import { BODY_LIMITS, readBodyText } from "../body.ts";
import type { HttpEnv } from "../env.ts";
import type { User } from "../../storage/schema.ts";

export const PAGE_SIZE = 50;
export const MAX_PAGE = 1000;

/** An answer DRF would give as `{"detail": message}` (or, for a field's errors, `{field: [message]}`). */
export class RestError extends Error {
  constructor(readonly status: 400 | 403 | 404 | 405, message: string, readonly body?: Record<string, unknown>) {
    super(message);
  }
}

/** DRF's `_positive_int`: anything else is the fallback, never an error. */
function positiveInt(text: string | undefined, fallback: number, cutoff?: number): number {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return fallback;
  const n = Number(text);
  return cutoff === undefined ? n : Math.min(n, cutoff);
}

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

export function pageRequest(c: Context<HttpEnv>): PageRequest {
  const limit = positiveInt(c.req.query("limit"), PAGE_SIZE, MAX_PAGE);
  return { limit: limit === 0 ? PAGE_SIZE : limit, offset: positiveInt(c.req.query("offset"), 0) };
}

/** DRF's `replace_query_param`: the request's URL with `changes` applied and the query sorted by name. */
function linkWith(c: Context<HttpEnv>, changes: Record<string, string | undefined>): string {
  const url = new URL(c.req.url);
  const params = [...url.searchParams.entries()].filter(([k]) => !Object.hasOwn(changes, k));
  for (const [k, v] of Object.entries(changes)) if (v !== undefined) params.push([k, v]);
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  url.search = new URLSearchParams(params).toString();
  return url.href;
}

/** One page as DRF's LimitOffsetPagination answers it. */
export function paginated<T>(c: Context<HttpEnv>, page: PageRequest, count: number, results: readonly T[]) {
  const { limit, offset } = page;
  const next = offset + limit >= count ? null : linkWith(c, { limit: String(limit), offset: String(offset + limit) });
  const previous = offset <= 0
    ? null
    : offset - limit <= 0
    ? linkWith(c, { limit: String(limit), offset: undefined })
    : linkWith(c, { limit: String(limit), offset: String(offset - limit) });
  return { count, next, previous, results };
}

/** A page of a list already in memory (devices, types, workers: the catalog's). */
export function paginatedList<T>(c: Context<HttpEnv>, all: readonly T[]) {
  const page = pageRequest(c);
  return paginated(c, page, all.length, all.slice(page.offset, page.offset + page.limit));
}

/** IsAuthenticatedOrReadOnly: a change needs a user, else 403 as LAVA (session authentication first) answers. */
export function writer(c: Context<HttpEnv>): User {
  const user = c.get("user");
  if (!user) throw new RestError(403, "Authentication credentials were not provided.");
  return user;
}

export function superuser(c: Context<HttpEnv>): User {
  const user = writer(c);
  if (!user.is_superuser) throw new RestError(403, "You do not have permission to perform this action.");
  return user;
}

/** A request's data as DRF parses it: JSON, or a form (urlencoded or multipart), within the JSON limit. */
export async function requestData(c: Context<HttpEnv>): Promise<Record<string, unknown>> {
  const data = await parsedData(c);
  for (const [field, value] of Object.entries(data)) {
    // DRF's CharField refuses NUL, which PostgreSQL's text cannot hold.
    if (typeof value === "string" && value.includes("\0")) {
      throw new RestError(400, field, { [field]: ["Null characters are not allowed."] });
    }
  }
  return data;
}

async function parsedData(c: Context<HttpEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header("Content-Type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    const length = Number(c.req.header("Content-Length") ?? "NaN");
    if (!(length <= BODY_LIMITS.json)) throw new RestError(400, "a form body needs a length within the limit");
    return Object.fromEntries([...(await c.req.formData()).entries()].map(([k, v]) => [k, String(v)]));
  }
  const text = await readBodyText(c.req.raw, BODY_LIMITS.json);
  if (type.startsWith("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  if (!text.trim()) return {};
  try {
    const data = JSON.parse(text);
    if (typeof data === "object" && data !== null && !Array.isArray(data)) return data;
  } catch (error) {
    throw new RestError(400, `JSON parse error - ${(error as Error).message}`);
  }
  throw new RestError(400, "Invalid data. Expected a dictionary, but got list.");
}

/**
 * A required text field, or DRF's 400: a serializer's `{field: ["This field is required."]}`, or, where LAVA's view
 * raises its own message, `{field: "message"}` (a ValidationError given a dict of strings keeps them strings).
 */
export function requiredText(data: Record<string, unknown>, field: string, viewMessage?: string): string {
  const value = data[field];
  if (typeof value === "string" && value !== "") return value;
  const message = viewMessage ?? "This field is required.";
  throw new RestError(400, `${field}: ${message}`, { [field]: viewMessage ?? [message] });
}
