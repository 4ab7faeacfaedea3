/**
 * What Jinja2 3.1's built-in filters and tests share: their types, argument
 * binding, attribute getters, escaping, JSON and URL quoting, rounding, sums and
 * selection. The filters are in filter_table.ts, the tests in test_table.ts;
 * filters Basalt does not have (`urlize`, `wordwrap`) fail at compile time as an
 * unknown filter would in Jinja2.
 */
import { JinjaError, typeError } from "./errors.ts";
import { binaryOp, compareValues, iterate, truthy } from "./operations.ts";
import { bindArgs } from "./arguments.ts";
import { getItem } from "./lookup.ts";
import { DictView, floatRepr, isNumeric, PyFloat, pyRepr, pyStr, typeName, Undefined } from "./values.ts";

export type FilterFunction = (value: unknown, args: unknown[], kwargs: Map<string, unknown>) => unknown;
export type TestFunction = (value: unknown, args: unknown[], kwargs: Map<string, unknown>) => boolean;

/** What filters and tests need from the environment: the others, by name. */
export interface FilterEnvironment {
  readonly filters: ReadonlyMap<string, FilterFunction>;
  readonly tests: ReadonlyMap<string, TestFunction>;
}

export function args(
  name: string,
  params: string[],
  a: unknown[],
  k: Map<string, unknown>,
  defaults: Record<string, unknown> = {},
) {
  return bindArgs(name, params, a, k, defaults);
}

/** Filters that receive an argument list and not a value: `value` first, then the rest. */
export function simple(
  params: string[],
  defaults: Record<string, unknown>,
  fn: (p: Record<string, unknown>) => unknown,
) {
  return (name: string): FilterFunction => (value, a, k) =>
    fn({ ...args(name, params.slice(1), a, k, defaults), [params[0]]: value });
}

export const ignoreCase = (value: unknown) => (typeof value === "string" ? value.toLowerCase() : value);

/** Jinja2's attribute getter for `attribute=` arguments: dotted names, integer parts as indexes. */
export function attrGetter(attribute: unknown, postprocess?: (v: unknown) => unknown, fallback?: unknown) {
  const parts = attribute === null || attribute === undefined
    ? []
    : typeof attribute === "string"
    ? attribute.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p))
    : [attribute];
  return (item: unknown) => {
    for (const part of parts) {
      item = getItem(item, part);
      if (fallback !== undefined && item instanceof Undefined) {
        item = fallback;
        break;
      }
    }
    return postprocess ? postprocess(item) : item;
  };
}

export function multiAttrGetter(attribute: unknown, postprocess?: (v: unknown) => unknown) {
  const names = typeof attribute === "string" ? attribute.split(",") : [attribute];
  const getters = names.map((n) => attrGetter(n === undefined ? null : n, postprocess));
  return (item: unknown) => getters.map((g) => g(item));
}

export function htmlEscape(value: unknown): string {
  return pyStr(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;")
    .replace(/'/g, "&#39;");
}

/** Python's json.dumps(value, sort_keys=True) with Jinja2's HTML-safe replacements. */
export function toJson(value: unknown, indent: unknown): string {
  const step = indent === null || indent === undefined
    ? null
    : typeof indent === "number"
    ? " ".repeat(indent)
    : pyStr(indent);
  const encode = (v: unknown, level: number): string => {
    if (v === null || v instanceof Undefined) {
      if (v instanceof Undefined) throw typeError("Object of type Undefined is not JSON serializable");
      return "null";
    }
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "number") return String(v);
    if (v instanceof PyFloat) {
      return Number.isNaN(v.value)
        ? "NaN"
        : Number.isFinite(v.value)
        ? floatRepr(v.value)
        : v.value > 0
        ? "Infinity"
        : "-Infinity";
    }
    if (typeof v === "string") {
      return '"' + [...v].map((ch) => {
        const code = ch.codePointAt(0)!;
        if (ch === '"') return '\\"';
        if (ch === "\\") return "\\\\";
        if (ch === "\n") return "\\n";
        if (ch === "\r") return "\\r";
        if (ch === "\t") return "\\t";
        if (ch === "\b") return "\\b";
        if (ch === "\f") return "\\f";
        if (code < 0x20 || code > 0x7e) {
          if (code > 0xffff) {
            const high = Math.floor((code - 0x10000) / 0x400) + 0xd800;
            const low = ((code - 0x10000) % 0x400) + 0xdc00;
            return `\\u${high.toString(16)}\\u${low.toString(16)}`;
          }
          return `\\u${code.toString(16).padStart(4, "0")}`;
        }
        return ch;
      }).join("") + '"';
    }
    const inner = step === null ? "" : "\n" + step.repeat(level + 1);
    const close = step === null ? "" : "\n" + step.repeat(level);
    const separator = step === null ? ", " : ",";
    if (Array.isArray(v) || v instanceof DictView) {
      const items = iterate(v).map((x) => encode(x, level + 1));
      return items.length ? `[${inner}${items.join(separator + inner)}${close}]` : "[]";
    }
    if (v instanceof Map) {
      const entries = [...v].map(([key, item]): [string, unknown] => {
        if (typeof key === "string") return [key, item];
        if (key === null) return ["null", item];
        if (typeof key === "boolean") return [key ? "true" : "false", item];
        if (isNumeric(key)) return [key instanceof PyFloat ? floatRepr(key.value) : String(key), item];
        throw typeError(`keys must be str, int, float, bool or None, not ${typeName(key)}`);
      });
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const items = entries.map(([key, item]) => `${encode(key, level + 1)}: ${encode(item, level + 1)}`);
      return items.length ? `{${inner}${items.join(separator + inner)}${close}}` : "{}";
    }
    throw typeError(`Object of type ${typeName(v)} is not JSON serializable`);
  };
  return encode(value, 0).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/'/g, "\\u0027");
}

export function urlQuote(value: unknown, forQs: boolean): string {
  const text = typeof value === "string" ? value : pyStr(value);
  const safe = forQs ? "" : "/";
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(ch) || safe.includes(ch)
      ? ch
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return forQs ? out.replace(/%20/g, "+") : out;
}

export function pyRound(value: number, precision: number): number {
  const factor = 10 ** precision;
  const scaled = value * factor;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  // Python rounds exact halves to even.
  const rounded = Math.abs(diff - 0.5) < 1e-9 * Math.max(1, Math.abs(scaled))
    ? (floor % 2 === 0 ? floor : floor + 1)
    : Math.round(scaled);
  return rounded / factor;
}

export function sum(items: unknown[], start: unknown): unknown {
  if (typeof start === "string") throw typeError("sum() can't sum strings [use ''.join(seq) instead]");
  return items.reduce((total, item) => binaryOp("add", total, item), start);
}

export function minMax(value: unknown, p: Record<string, unknown>, pick: (order: number) => boolean): unknown {
  const items = iterate(value);
  if (items.length === 0) return new Undefined("No aggregated item, sequence was empty.");
  const key = attrGetter(p.attribute, truthy(p.case_sensitive) ? undefined : ignoreCase);
  return items.reduce((best, item) => (pick(compareValues(key(item), key(best))) ? item : best));
}

export function selectOrReject(
  env: FilterEnvironment,
  value: unknown,
  a: unknown[],
  k: Map<string, unknown>,
  lookupAttr: boolean,
  modfunc: (b: boolean) => boolean,
): unknown[] {
  let rest = a;
  let transform = (x: unknown) => x;
  if (lookupAttr) {
    if (rest.length === 0) throw new JinjaError("FilterArgumentError", "Missing parameter for attribute name");
    transform = attrGetter(rest[0]);
    rest = rest.slice(1);
  }
  let test: (x: unknown) => boolean;
  if (rest.length) {
    const name = rest[0];
    const testArgs = rest.slice(1);
    const fn = env.tests.get(pyStr(name));
    if (!fn) throw new JinjaError("TemplateRuntimeError", `No test named ${pyRepr(name)}.`);
    test = (x) => fn(x, testArgs, k);
  } else {
    test = (x) => truthy(x);
  }
  return iterate(value).filter((item) => modfunc(test(transform(item))));
}
