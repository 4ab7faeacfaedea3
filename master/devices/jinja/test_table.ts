/**
 * Jinja2 3.1's built-in tests (jinja2/tests.py), and the filters and tests an environment
 * starts with.
 */
import { binaryOp, compareValues, pyContains, pyEq } from "./operations.ts";
import { callValue, getAttribute } from "./lookup.ts";
import { DictView, isJinjaObject, isNumeric, PyCallable, PyFloat, PyRange, pyStr, Undefined } from "./values.ts";
import { buildFilters } from "./filter_table.ts";
import { args, FilterEnvironment, FilterFunction, TestFunction } from "./filters.ts";

function buildTests(env: FilterEnvironment): Map<string, TestFunction> {
  const one = (name: string, fn: (v: unknown) => boolean): TestFunction => (v, a, k) => {
    args(name, [], a, k);
    return fn(v);
  };
  const two = (name: string, param: string, fn: (v: unknown, other: unknown) => boolean): TestFunction => (v, a, k) =>
    fn(v, args(name, [param], a, k)[param]);
  const mod = (v: unknown, n: unknown) => binaryOp("mod", v, n);
  const compare = (op: "lt" | "lteq" | "gt" | "gteq") => (v: unknown, other: unknown) => {
    const order = compareValues(v, other, op);
    return op === "lt" ? order < 0 : op === "lteq" ? order <= 0 : op === "gt" ? order > 0 : order >= 0;
  };
  const tests: Record<string, TestFunction> = {
    odd: one("odd", (v) => pyEq(mod(v, 2), 1)),
    even: one("even", (v) => pyEq(mod(v, 2), 0)),
    divisibleby: two("divisibleby", "num", (v, n) => pyEq(mod(v, n), 0)),
    defined: one("defined", (v) => !(v instanceof Undefined)),
    undefined: one("undefined", (v) => v instanceof Undefined),
    filter: one("filter", (v) => env.filters.has(pyStr(v))),
    test: one("test", (v) => env.tests.has(pyStr(v))),
    none: one("none", (v) => v === null),
    boolean: one("boolean", (v) => typeof v === "boolean"),
    false: one("false", (v) => v === false),
    true: one("true", (v) => v === true),
    integer: one("integer", (v) => typeof v === "number"),
    float: one("float", (v) => v instanceof PyFloat),
    lower: one("lower", (v) => callValue(getAttribute(pyStr(v), "islower"), [], new Map()) === true),
    upper: one("upper", (v) => callValue(getAttribute(pyStr(v), "isupper"), [], new Map()) === true),
    string: one("string", (v) => typeof v === "string"),
    mapping: one("mapping", (v) => v instanceof Map),
    number: one("number", isNumeric),
    sequence: one(
      "sequence",
      (v) =>
        typeof v === "string" || Array.isArray(v) || v instanceof Map || v instanceof PyRange || v instanceof Undefined,
    ),
    iterable: one(
      "iterable",
      (v) =>
        typeof v === "string" || Array.isArray(v) || v instanceof Map || v instanceof DictView ||
        v instanceof PyRange ||
        v instanceof Undefined || (isJinjaObject(v) && v.constructor.name === "LoopContext"),
    ),
    callable: one("callable", (v) => v instanceof PyCallable || v instanceof Undefined),
    sameas: two(
      "sameas",
      "other",
      (v, other) => v === other || (v instanceof Undefined && other instanceof Undefined && v === other),
    ),
    escaped: one("escaped", () => false),
    in: two("in", "seq", (v, seq) => pyContains(seq, v)),
    eq: two("eq", "b", (v, b) => pyEq(v, b)),
    ne: two("ne", "b", (v, b) => !pyEq(v, b)),
    lt: two("lt", "b", compare("lt")),
    le: two("le", "b", compare("lteq")),
    gt: two("gt", "b", compare("gt")),
    ge: two("ge", "b", compare("gteq")),
  };
  Object.assign(tests, {
    "==": tests.eq,
    equalto: tests.eq,
    "!=": tests.ne,
    "<": tests.lt,
    lessthan: tests.lt,
    "<=": tests.le,
    ">": tests.gt,
    greaterthan: tests.gt,
    ">=": tests.ge,
  });
  return new Map(Object.entries(tests));
}

/** Jinja2's default filters and tests, bound to an environment that may add its own. */
export function builtinFiltersAndTests(): { filters: Map<string, FilterFunction>; tests: Map<string, TestFunction> } {
  const env: { filters: Map<string, FilterFunction>; tests: Map<string, TestFunction> } = {
    filters: new Map(),
    tests: new Map(),
  };
  for (const [name, fn] of buildFilters(env)) env.filters.set(name, fn);
  for (const [name, fn] of buildTests(env)) env.tests.set(name, fn);
  return env;
}
