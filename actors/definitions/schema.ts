/**
 * A small validation language in the manner of Python's voluptuous (which LAVA's
 * schemas use), built to report every problem of a document at once, each with
 * the key path it is about, instead of stopping at the first.
 */
import type { PathSegment } from "./yaml.ts";

export interface Issue {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** The problem is the key itself (an unknown key), not its value. */
  readonly atKey?: boolean;
}

export interface Check {
  readonly strict: boolean;
  readonly issues: Issue[];
}

export type Validator = (value: unknown, path: readonly PathSegment[], check: Check) => void;

export function report(check: Check, path: readonly PathSegment[], message: string, atKey = false): void {
  check.issues.push({ path, message, ...(atKey ? { atKey } : {}) });
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (isMapping(value)) return "a mapping";
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  }
  return `${typeof value} ${JSON.stringify(value)}`;
}

export const anything: Validator = () => {};

export function str(options: { min?: number; max?: number; pattern?: RegExp; patternName?: string } = {}): Validator {
  return (value, path, check) => {
    if (typeof value !== "string") return report(check, path, `expected a string, got ${describe(value)}`);
    if (options.min !== undefined && value.length < options.min) {
      return report(
        check,
        path,
        options.min === 1 ? "must not be empty" : `must be at least ${options.min} characters long`,
      );
    }
    if (options.max !== undefined && value.length > options.max) {
      return report(check, path, `must be at most ${options.max} characters long`);
    }
    if (options.pattern && !options.pattern.test(value)) {
      report(check, path, `${JSON.stringify(value)} is not ${options.patternName ?? `of the form ${options.pattern}`}`);
    }
  };
}

export function oneOf(values: readonly (string | number | boolean)[], what = "value"): Validator {
  return (value, path, check) => {
    if (!values.includes(value as string)) {
      report(
        check,
        path,
        `${JSON.stringify(value)} is not a valid ${what}: expected one of ${
          values.map((v) => JSON.stringify(v)).join(", ")
        }`,
      );
    }
  };
}

/** Exactly this value (LAVA's literal keys such as `to: tmpfs` inside a deploy). */
export function literal(expected: string | number | boolean | null, message?: string): Validator {
  return (value, path, check) => {
    if (value !== expected) {
      report(
        check,
        path,
        message ?? `${JSON.stringify(value)} is not a valid value: expected ${JSON.stringify(expected)}`,
      );
    }
  };
}

export function int(options: { min?: number; max?: number } = {}): Validator {
  return (value, path, check) => {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      return report(check, path, `expected an integer, got ${describe(value)}`);
    }
    if (options.min !== undefined && value < options.min) report(check, path, `value must be at least ${options.min}`);
    if (options.max !== undefined && value > options.max) report(check, path, `value must be at most ${options.max}`);
  };
}

export function number(): Validator {
  return (value, path, check) => {
    if (typeof value !== "number") report(check, path, `expected a number, got ${describe(value)}`);
  };
}

export const bool: Validator = (value, path, check) => {
  if (typeof value !== "boolean") report(check, path, `expected true or false, got ${describe(value)}`);
};

export function list(item: Validator, options: { min?: number } = {}): Validator {
  return (value, path, check) => {
    if (!Array.isArray(value)) return report(check, path, `expected a list, got ${describe(value)}`);
    if (options.min !== undefined && value.length < options.min) {
      report(check, path, options.min === 1 ? "must not be an empty list" : `needs at least ${options.min} items`);
    }
    value.forEach((element, index) => item(element, [...path, index], check));
  };
}

/** A string, or a non-empty list of strings (LAVA's `prompts`, power commands...). */
export function strOrList(options: Parameters<typeof str>[0] = {}): Validator {
  const one = str(options);
  const many = list(str(options), { min: 1 });
  return (value, path, check) => Array.isArray(value) ? many(value, path, check) : one(value, path, check);
}

/** What to do with keys a mapping does not name. */
export type Extra =
  | "allow"
  | "deny"
  /** Denied in strict mode only, as LAVA's non-strict validation allows extra keys. */
  | "strict";

export interface MapSpec {
  readonly required?: Readonly<Record<string, Validator>>;
  readonly optional?: Readonly<Record<string, Validator>>;
  readonly extra?: Extra;
  /** Messages for missing required keys, when "required key not provided" says too little. */
  readonly missing?: Readonly<Record<string, string>>;
  /** Groups of keys of which at most one may be given. */
  readonly exclusive?: readonly (readonly string[])[];
  /** Checks across keys, run when the mapping itself is a mapping. */
  readonly also?: (value: Record<string, unknown>, path: readonly PathSegment[], check: Check) => void;
}

export function map(spec: MapSpec): Validator {
  const known = new Set([...Object.keys(spec.required ?? {}), ...Object.keys(spec.optional ?? {})]);
  return (value, path, check) => {
    if (!isMapping(value)) return report(check, path, `expected a mapping, got ${describe(value)}`);
    for (const [key, validator] of Object.entries(spec.required ?? {})) {
      if (!(key in value)) report(check, [...path, key], spec.missing?.[key] ?? "required key not provided");
      else validator(value[key], [...path, key], check);
    }
    for (const group of spec.exclusive ?? []) {
      const given = group.filter((key) => key in value);
      if (given.length > 1) {
        report(
          check,
          [...path, given[1]],
          `give only one of ${group.join(", ")}: ${given.join(" and ")} exclude each other`,
          true,
        );
      }
    }
    for (const [key, validator] of Object.entries(spec.optional ?? {})) {
      if (key in value) validator(value[key], [...path, key], check);
    }
    const extra = spec.extra ?? "strict";
    if (extra === "deny" || (extra === "strict" && check.strict)) {
      for (const key of Object.keys(value)) {
        if (!known.has(key)) {
          report(
            check,
            [...path, key],
            `extra keys not allowed: expected one of ${[...known].sort().join(", ")}`,
            true,
          );
        }
      }
    }
    spec.also?.(value, path, check);
  };
}

/** A mapping with any keys, each value checked by `values` (and each key by `keys`). */
export function dict(values: Validator, keys?: Validator): Validator {
  return (value, path, check) => {
    if (!isMapping(value)) return report(check, path, `expected a mapping, got ${describe(value)}`);
    for (const [key, element] of Object.entries(value)) {
      keys?.(key, [...path, key], check);
      values(element, [...path, key], check);
    }
  };
}

/** The first alternative that finds no problem wins; otherwise the one with fewest problems reports. */
export function either(...alternatives: Validator[]): Validator {
  return (value, path, check) => {
    let best: Issue[] | undefined;
    for (const alternative of alternatives) {
      const trial: Check = { strict: check.strict, issues: [] };
      alternative(value, path, trial);
      if (trial.issues.length === 0) return;
      if (!best || trial.issues.length < best.length) best = trial.issues;
    }
    check.issues.push(...(best ?? []));
  };
}

/** Runs several validators on the same value. */
export function all(...validators: Validator[]): Validator {
  return (value, path, check) => {
    for (const validator of validators) validator(value, path, check);
  };
}

export function validate(validator: Validator, value: unknown, strict: boolean): Issue[] {
  const check: Check = { strict, issues: [] };
  validator(value, [], check);
  return check.issues;
}
