/**
 * Values the database can hold. Much of what the master stores was printed by a
 * device under test and relayed by a worker, and PostgreSQL (PGlite alike)
 * refuses some of it outright: NUL in `text`, NUL and lone UTF-16 surrogates in
 * `jsonb`, timestamps it cannot represent. One such value used to fail the whole
 * journal batch that carried it, so everything bound for the database from a peer
 * passes through here first.
 */
import { sqlState } from "./errors.ts";

/** What stands in for a character the database cannot hold. */
export const REPLACEMENT = "\uFFFD";

// deno-lint-ignore no-control-regex
const UNSTORABLE_TEXT = /[\u0000\ud800-\udfff]/;

/**
 * `text` with NUL and lone surrogates replaced by U+FFFD; other characters, control
 * characters included, are kept. PostgreSQL refuses NUL in text; a lone surrogate
 * would be replaced by the driver anyway, this makes it the same on both backends.
 *
 * @example
 * ```ts
 * storableText("a\u0000b"); // "a\uFFFDb"
 * ```
 */
export function storableText(text: string): string {
  if (!UNSTORABLE_TEXT.test(text)) return text;
  return text.replaceAll("\u0000", REPLACEMENT).toWellFormed();
}

// JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX (lower case);
// `\\` is matched as a unit so an escaped backslash followed by "u0000" is left alone.
const UNSTORABLE_ESCAPE = /\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g;

/**
 * JSON text `jsonb` accepts: NUL and lone surrogates, in keys and values, become
 * U+FFFD. NaN and infinities become null, as JSON.stringify makes them.
 *
 * @example
 * ```ts
 * storableJson({ case: "a\u0000" }); // '{"case":"a\\ufffd"}'
 * ```
 */
export function storableJson(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  if (!text.includes("\\u")) return text;
  return text.replace(UNSTORABLE_ESCAPE, (escape, what) => what === "\\" ? escape : "\\ufffd");
}

/**
 * Whether a JSON value nests deeper than `limit` (objects and arrays). PostgreSQL
 * refuses deep `jsonb` ("stack depth limit exceeded") and PGlite spins on it, so a
 * peer's nested value is measured before it is stored; the walk stops at the limit.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (limit <= 0) return true;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (nestsDeeperThan(item, limit - 1)) return true;
  }
  return false;
}

/**
 * `value` with every object or array deeper than `limit` replaced by `marker`,
 * so that serialising it cannot exhaust the stack (V8's JSON.stringify recurses
 * on its slow path: a few thousand levels are enough).
 */
export function cutDeeperThan(value: unknown, limit: number, marker: string): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (limit <= 0) return marker;
  if (Array.isArray(value)) return value.map((item) => cutDeeperThan(item, limit - 1, marker));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutDeeperThan(v, limit - 1, marker)]));
}

/** Years 1 to 9999: what ISO 8601 writes in four digits, and well inside `timestamptz`. */
const EARLIEST = Date.parse("0001-01-01T00:00:00Z");
const LATEST = Date.parse("+010000-01-01T00:00:00Z");

/** LAVA writes `dt` in UTC without saying so. */
const WITHOUT_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/;
/** What Basalt's dispatcher writes: taken as it is once the date is known to be real. */
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

/**
 * A log record's time as the database will take it: ISO 8601 in UTC (a time
 * without a zone is UTC, as LAVA writes it), or `fallback` when it is not a time
 * the database takes (`infinity`, the year 300000, not a date at all). A day past
 * the end of its month rolls over, as JavaScript reads it.
 */
export function storableTime(dt: string | Date, fallback: Date): string {
  const ms = typeof dt !== "string" ? dt.getTime() : Date.parse(WITHOUT_ZONE.test(dt) ? `${dt}Z` : dt);
  if (!(Number.isFinite(ms) && ms >= EARLIEST && ms < LATEST)) return fallback.toISOString();
  // Formatting costs more than the rest together; the usual record needs none.
  if (typeof dt === "string" && CANONICAL.test(dt) && new Date(ms).getUTCDate() === Number(dt.slice(8, 10))) return dt;
  return new Date(ms).toISOString();
}

/**
 * Whether a failed write was refused for the values it holds: a data exception
 * (SQLSTATE class 22: out of range, bad encoding, bad input syntax), a broken
 * constraint (23) or a limit of the server's (54: index row or nesting too large).
 * Retrying such a write can never succeed. Anything else (a lost connection, a
 * conflict, a full disk, a bug in the master's own SQL) is worth retrying as it is.
 */
export function isRefusedValue(error: unknown): boolean {
  return /^(22|23|54)[0-9A-Z]{3}$/.test(sqlState(error) ?? "");
}
