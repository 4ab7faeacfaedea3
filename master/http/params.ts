/**
 * Query parameters, checked: a number that is not one, or is out of range, is
 * the client's mistake and gets 400 naming the parameter — never a NaN that
 * reaches the database and comes back as a 500.
 *
 * ```ts
 * const offset = intParam(c.req.query("offset"), "offset", { fallback: 0 });
 * ```
 */
import { LabRequestError } from "../lab/request_error.ts";

export interface IntRange {
  /** The value when the parameter is absent or empty. */
  readonly fallback: number;
  readonly min?: number;
  readonly max?: number;
}

/** Integers as clients write them: optional minus, decimal digits, at most 15 of them. */
const INTEGER = /^-?[0-9]{1,15}$/;

/** An integer query parameter within `[min, max]` (default `[0, 2^53)`); absent or empty gives `fallback`. */
export function intParam(value: string | undefined, name: string, range: IntRange): number {
  if (value === undefined || value === "") return range.fallback;
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const number = INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new LabRequestError(
      `query parameter ${name}: ${JSON.stringify(value.slice(0, 40))} is not an integer ${bound}`,
      400,
    );
  }
  return number;
}

/** An optional integer query parameter: undefined when absent or empty. */
export function optionalIntParam(value: string | undefined, name: string, range: Omit<IntRange, "fallback">) {
  return value === undefined || value === "" ? undefined : intParam(value, name, { ...range, fallback: 0 });
}

/** A `true`/`false` query parameter; absent or empty gives `fallback`. */
export function boolParam(value: string | undefined, name: string, fallback = false): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new LabRequestError(`query parameter ${name}: ${JSON.stringify(value.slice(0, 40))} is not true or false`, 400);
}

/** A value of a set of codes (a job state, a health) given by name, or undefined when absent. */
export function codeParam(
  value: string | undefined,
  name: string,
  codes: { parse(input: string): number },
): number | undefined {
  if (value === undefined || value === "") return undefined;
  try {
    return codes.parse(value);
  } catch (error) {
    throw new LabRequestError(`query parameter ${name}: ${(error as Error).message}`, 400);
  }
}
