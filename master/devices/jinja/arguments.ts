/**
 * Binding Python call arguments to parameters, and the argument checks the methods of
 * str, list and dict make, with Python's messages.
 */
import { typeError } from "./errors.ts";
import { typeName, Undefined } from "./values.ts";

// --- methods of str, list, dict ----------------------------------------------------

export type Method = (self: never, args: unknown[], kwargs: Map<string, unknown>) => unknown;

/**
 * Binds Python arguments to parameter names (`["sep=None", "maxsplit=-1"]`,
 * `*name` for the rest): a function's own checks, as Python makes them.
 */
export function bindArgs(
  fname: string,
  params: readonly string[],
  args: unknown[],
  kwargs: Map<string, unknown>,
  defaults: Record<string, unknown> = {},
): Record<string, unknown> {
  const bound: Record<string, unknown> = {};
  const names = params.map((p) => p.replace(/^\*/, ""));
  const rest = params.findIndex((p) => p.startsWith("*"));
  const positional = rest >= 0 ? rest : params.length;
  if (args.length > positional && rest < 0) {
    throw typeError(
      `${fname}() takes at most ${positional} argument${positional === 1 ? "" : "s"} (${args.length} given)`,
    );
  }
  args.slice(0, positional).forEach((arg, i) => bound[names[i]] = arg);
  if (rest >= 0) bound[names[rest]] = args.slice(positional);
  for (const [key, value] of kwargs) {
    if (!names.includes(key) || names.indexOf(key) === rest) {
      throw typeError(`${fname}() got an unexpected keyword argument '${key}'`);
    }
    if (key in bound) throw typeError(`${fname}() got multiple values for argument '${key}'`);
    bound[key] = value;
  }
  for (const name of names) {
    if (!(name in bound)) {
      if (!(name in defaults)) throw typeError(`${fname}() missing required argument: '${name}'`);
      bound[name] = defaults[name];
    }
  }
  return bound;
}

export function strArg(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Undefined) value.fail();
  throw typeError(`${what} must be str, not ${typeName(value)}`);
}

export function optionalStr(value: unknown, what: string): string | null {
  return value === null ? null : strArg(value, what);
}

export function intArg(value: unknown, what: string): number {
  if (typeof value === "number" || typeof value === "boolean") return Number(value);
  if (value instanceof Undefined) value.fail();
  throw typeError(`${what}: '${typeName(value)}' object cannot be interpreted as an integer`);
}

/** Python's whitespace (str.isspace()), as str.split() and str.strip() use it. */
