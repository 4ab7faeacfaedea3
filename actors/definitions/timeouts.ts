/**
 * LAVA's timeout grammar: a mapping with exactly one of `days`, `hours`,
 * `minutes` or `seconds` (an integer of at least 1), and optionally `skip` (on a
 * test action, a timeout moves on to the next action instead of failing the job).
 * Non-strict validation, like LAVA's, lets extra keys through; several units are
 * then added up.
 */
import { type Check, isMapping, report, type Validator } from "./schema.ts";

export const TIMEOUT_UNITS = { days: 86_400, hours: 3_600, minutes: 60, seconds: 1 } as const;
export type TimeoutUnit = keyof typeof TIMEOUT_UNITS;

/** LAVA's default for any action or connection without a timeout of its own. */
export const DEFAULT_ACTION_TIMEOUT_SECONDS = 30;

const isUnit = (key: string): key is TimeoutUnit => key in TIMEOUT_UNITS;

/** The longest delay a timer takes (2^31-1 ms, about 24.8 days): a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `seconds` as a timer's delay: a job may ask for any number of days, as LAVA allows, but a timer cannot
 * wait longer than MAX_TIMER_MS, and a longer delay given to one fires immediately, so it is capped there.
 */
export function timerMs(seconds: number): number {
  const ms = seconds * 1000;
  return Number.isFinite(ms) ? Math.max(0, Math.min(ms, MAX_TIMER_MS)) : MAX_TIMER_MS;
}

/** A timeout's length in seconds (units added up), or undefined when it has no valid unit. */
export function timeoutSeconds(value: unknown): number | undefined {
  if (!isMapping(value)) return undefined;
  let total = 0;
  let units = 0;
  for (const [key, amount] of Object.entries(value)) {
    if (!isUnit(key)) continue;
    if (typeof amount !== "number" || !Number.isInteger(amount) || amount < 1) return undefined;
    total += amount * TIMEOUT_UNITS[key];
    units++;
  }
  return units > 0 ? total : undefined;
}

const EXPECTED = "expected exactly one of days, hours, minutes or seconds, an integer of at least 1";

export const timeout: Validator = (value, path, check: Check) => {
  if (!isMapping(value)) return report(check, path, `invalid timeout: ${EXPECTED}`);
  const keys = Object.keys(value).filter((k) => k !== "skip");
  const units = keys.filter(isUnit);
  const others = keys.filter((k) => !isUnit(k));
  if (units.length === 0) {
    return report(check, path, `invalid timeout: ${EXPECTED}; got ${others.length ? others.join(", ") : "no unit"}`);
  }
  if (check.strict && keys.length > 1) {
    return report(check, path, `invalid timeout: ${EXPECTED}; got ${keys.join(", ")}`);
  }
  for (const unit of units) {
    const amount = value[unit];
    if (typeof amount !== "number" || !Number.isInteger(amount) || amount < 1) {
      report(check, [...path, unit], `invalid timeout: ${unit} must be an integer of at least 1`);
    }
  }
  if ("skip" in value && typeof value.skip !== "boolean") report(check, [...path, "skip"], "expected true or false");
};

/** "00:05:00" as LAVA's logs print durations and timeouts. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return [h, m, s].map((n) => String(n).padStart(2, "0")).join(":");
}
