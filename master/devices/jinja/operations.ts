/**
 * Python's operations on template values: truth, equality and order, `in`, dicts keyed by
 * value, iteration and len(), arithmetic, int() and float() — with Python's TypeErrors.
 */
import { JinjaError, typeError, valueError } from "./errors.ts";
import { percentFormat } from "./formatting.ts";
import {
  DictView,
  isJinjaObject,
  isNumeric,
  isTuple,
  numberOf,
  PyFloat,
  PyRange,
  stringRepr,
  tuple,
  typeName,
  Undefined,
} from "./values.ts";

// --- truth, equality, order --------------------------------------------------

/** Python's truth value. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (value === true || typeof value === "number" || typeof value === "string") return true;
  if (value instanceof PyFloat) return value.value !== 0;
  if (value instanceof Undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (value instanceof DictView) return value.dict.size > 0;
  if (value instanceof PyRange) return value.length > 0;
  return true;
}

/** Python's `==`. */
export function pyEq(a: unknown, b: unknown): boolean {
  if (a === b) return !(a instanceof PyFloat && Number.isNaN(a.value));
  if (isNumeric(a) && isNumeric(b)) return numberOf(a) === numberOf(b);
  if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    return isTuple(a) === isTuple(b) && a.length === b.length && a.every((item, i) => pyEq(item, b[i]));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) {
      const other = dictGet(b, key);
      if (other === NO_KEY || !pyEq(value, other)) return false;
    }
    return true;
  }
  return false;
}

/** Python's `<`, `<=`, `>`, `>=`. */
export function pyCompare(op: "lt" | "lteq" | "gt" | "gteq", a: unknown, b: unknown): boolean {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  const order = compareValues(a, b, op);
  switch (op) {
    case "lt":
      return order < 0;
    case "lteq":
      return order <= 0;
    case "gt":
      return order > 0;
    case "gteq":
      return order >= 0;
  }
}

const OP_SYMBOL = { lt: "<", lteq: "<=", gt: ">", gteq: ">=" };

/** -1, 0 or 1 as Python orders the two values; NaN for unordered floats. Throws TypeError across types. */
export function compareValues(a: unknown, b: unknown, op: "lt" | "lteq" | "gt" | "gteq" = "lt"): number {
  if (isNumeric(a) && isNumeric(b)) {
    const x = numberOf(a);
    const y = numberOf(b);
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEq(a[i], b[i])) return compareValues(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  throw typeError(`'${OP_SYMBOL[op]}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** Python's `item in container`. */
export function pyContains(container: unknown, item: unknown): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") {
      if (item instanceof Undefined) item.fail();
      throw typeError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    }
    return container.includes(item);
  }
  if (container instanceof Map) return dictGet(container, item) !== NO_KEY;
  if (container instanceof DictView && container.kind === "keys") return dictGet(container.dict, item) !== NO_KEY;
  if (container instanceof Undefined) return false;
  if (Array.isArray(container) || container instanceof DictView || container instanceof PyRange) {
    return iterate(container).some((x) => pyEq(x, item));
  }
  throw typeError(`argument of type '${typeName(container)}' is not iterable`);
}

// --- dicts --------------------------------------------------------------------

export const NO_KEY = Symbol("no key");

/** A dict's item by Python equality of keys (1 and 1.0 and True are one key). */
export function dictGet(dict: Map<unknown, unknown>, key: unknown): unknown {
  if (dict.has(key)) return dict.get(key);
  if (key instanceof Undefined) key.fail();
  if (typeof key === "object" && key !== null && !(key instanceof PyFloat) && !isTuple(key)) {
    throw typeError(`unhashable type: '${typeName(key)}'`);
  }
  if (isNumeric(key) || isTuple(key)) {
    for (const [k, v] of dict) if (pyEq(k, key)) return v;
  }
  return NO_KEY;
}

/** Sets a dict's item, replacing the value of an equal key in place. */
export function dictSet(dict: Map<unknown, unknown>, key: unknown, value: unknown): void {
  if (isNumeric(key) || isTuple(key)) {
    for (const k of dict.keys()) {
      if (pyEq(k, key)) {
        dict.set(k, value);
        return;
      }
    }
  } else if (key instanceof Undefined) {
    // Undefined is hashable in Jinja2: one key for every Undefined.
    for (const k of dict.keys()) {
      if (k instanceof Undefined) {
        dict.set(k, value);
        return;
      }
    }
  } else if (typeof key === "object" && key !== null && !(key instanceof PyFloat)) {
    throw typeError(`unhashable type: '${typeName(key)}'`);
  }
  dict.set(key, value);
}

/** Python's dict.update(other): from a dict, or from pairs. */
export function dictUpdate(dict: Map<unknown, unknown>, other: unknown): void {
  if (other instanceof Map) {
    for (const [key, value] of other) dictSet(dict, key, value);
    return;
  }
  iterate(other).forEach((pair, i) => {
    const items = iterate(pair);
    if (items.length !== 2) {
      throw valueError(`dictionary update sequence element #${i} has length ${items.length}; 2 is required`);
    }
    dictSet(dict, items[0], items[1]);
  });
}

// --- iteration ------------------------------------------------------------------

/** The items Python's `iter()` gives, as an array. */
export function iterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return [...value];
  if (value instanceof Map) return [...value.keys()];
  if (value instanceof DictView) return value.items();
  if (value instanceof PyRange) return value.items();
  if (value instanceof Undefined) return [];
  throw typeError(`'${typeName(value)}' object is not iterable`);
}

/** Python's `len()`. */
export function pyLen(value: unknown): number {
  if (typeof value === "string") return codePoints(value);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  if (value instanceof DictView) return value.dict.size;
  if (value instanceof PyRange) return value.length;
  if (value instanceof Undefined) return 0;
  if (isJinjaObject(value)) {
    const length = value.attribute("length");
    if (typeof length === "number") return length;
  }
  throw typeError(`object of type '${typeName(value)}' has no len()`);
}

function codePoints(text: string): number {
  // Only astral characters take two UTF-16 units.
  return /[\uD800-\uDBFF]/.test(text) ? [...text].length : text.length;
}

// --- arithmetic ------------------------------------------------------------------

const OPERATOR_TEXT: Record<string, string> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  floordiv: "//",
  mod: "%",
  pow: "** or pow()",
};

function unsupported(op: string, a: unknown, b: unknown): never {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  throw typeError(`unsupported operand type(s) for ${OPERATOR_TEXT[op]}: '${typeName(a)}' and '${typeName(b)}'`);
}

function numeric(result: number, float: boolean): number | PyFloat {
  if (float) return new PyFloat(result);
  return Object.is(result, -0) ? 0 : result;
}

/** The most characters or items `*` may make: a template cannot make the master allocate gigabytes. */
export const MAX_REPEAT = 10_000_000;

/** Python's binary operators (`+ - * / // % **`). */
export function binaryOp(op: string, a: unknown, b: unknown): unknown {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  if (isNumeric(a) && isNumeric(b)) {
    const x = numberOf(a);
    const y = numberOf(b);
    const float = a instanceof PyFloat || b instanceof PyFloat;
    switch (op) {
      case "add":
        return numeric(x + y, float);
      case "sub":
        return numeric(x - y, float);
      case "mul":
        return numeric(x * y, float);
      case "div":
        if (y === 0) throw new JinjaError("ZeroDivisionError", "division by zero");
        return new PyFloat(x / y);
      case "floordiv":
        if (y === 0) throw new JinjaError("ZeroDivisionError", "integer division or modulo by zero");
        return numeric(Math.floor(x / y), float);
      case "mod": {
        if (y === 0) throw new JinjaError("ZeroDivisionError", "integer division or modulo by zero");
        const r = x % y;
        return numeric(r !== 0 && (r < 0) !== (y < 0) ? r + y : r, float);
      }
      case "pow":
        if (x === 0 && y < 0) throw new JinjaError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
        return numeric(x ** y, float || y < 0);
    }
  }
  if (op === "add") {
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
      return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
    }
  }
  if (op === "mul") {
    const [seq, times] = isNumeric(b) ? [a, b] : [b, a];
    if ((typeof seq === "string" || Array.isArray(seq)) && (typeof times === "number" || typeof times === "boolean")) {
      const n = Math.max(0, Number(times));
      const size = n * (typeof seq === "string" ? seq.length : seq.length);
      if (size > MAX_REPEAT) {
        throw new JinjaError(
          "MemoryError",
          `repeating a ${typeName(seq)} ${n} times makes ${size} items (at most ${MAX_REPEAT})`,
        );
      }
      if (typeof seq === "string") return seq.repeat(n);
      const out = Array.from({ length: n }, () => seq).flat();
      return isTuple(seq) ? tuple(out) : out;
    }
  }
  if (op === "mod" && typeof a === "string") return percentFormat(a, b);
  unsupported(op, a, b);
}

/** Python's unary `-` and `+`. */
export function unaryOp(op: "neg" | "pos", value: unknown): unknown {
  if (value instanceof Undefined) value.fail();
  if (!isNumeric(value)) {
    throw typeError(`bad operand type for unary ${op === "neg" ? "-" : "+"}: '${typeName(value)}'`);
  }
  const n = numberOf(value);
  return numeric(op === "neg" ? -n : n, value instanceof PyFloat);
}

// --- int() and float() ------------------------------------------------------------

/** Python's `int(value)` (and `int(text, base)`). */
export function toInt(value: unknown, base = 10): number {
  if (value instanceof Undefined) value.fail();
  if (typeof value === "boolean") return Number(value);
  if (typeof value === "number") return value;
  if (value instanceof PyFloat) {
    if (!Number.isFinite(value.value)) throw valueError("cannot convert float NaN or infinity to integer");
    return Math.trunc(value.value);
  }
  if (typeof value === "string") {
    let text = value.trim().replace(/(?<=[0-9a-zA-Z])_(?=[0-9a-zA-Z])/g, "");
    let sign = 1;
    if (/^[+-]/.test(text)) {
      if (text[0] === "-") sign = -1;
      text = text.slice(1);
    }
    let radix = base;
    const prefix = text.slice(0, 2).toLowerCase();
    if ((base === 16 && prefix === "0x") || (base === 8 && prefix === "0o") || (base === 2 && prefix === "0b")) {
      text = text.slice(2);
    } else if (base === 0) {
      radix = prefix === "0x" ? 16 : prefix === "0o" ? 8 : prefix === "0b" ? 2 : 10;
      if (radix !== 10) text = text.slice(2);
    }
    const digits = "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, radix);
    if (text === "" || ![...text.toLowerCase()].every((c) => digits.includes(c))) {
      throw valueError(`invalid literal for int() with base ${base}: ${stringRepr(value)}`);
    }
    return sign * parseInt(text, radix);
  }
  throw typeError(`int() argument must be a string, a bytes-like object or a real number, not '${typeName(value)}'`);
}

/** Python's `float(value)`. */
export function toFloat(value: unknown): number {
  if (value instanceof Undefined) value.fail();
  if (isNumeric(value)) return numberOf(value);
  if (typeof value === "string") {
    const text = value.trim().toLowerCase().replace(/(?<=\d)_(?=\d)/g, "");
    if (/^[+-]?(inf|infinity)$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(text)) return NaN;
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(text)) return Number(text);
    throw valueError(`could not convert string to float: ${stringRepr(value)}`);
  }
  throw typeError(`float() argument must be a string or a real number, not '${typeName(value)}'`);
}
