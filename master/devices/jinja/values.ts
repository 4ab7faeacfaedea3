/**
 * Python's values as Jinja2 templates see them, in JavaScript:
 *
 * - str: string; int: number (always integral); float: {@link PyFloat} (so `1.0`
 *   stays a float); bool: boolean; None: null.
 * - list: Array; tuple: a frozen Array marked as a tuple; dict: Map (insertion
 *   order, any key).
 * - Jinja2's Undefined: {@link Undefined}, which prints as nothing, is false,
 *   iterates as empty, and fails on any other use.
 *
 * Printing, truth, equality, ordering, arithmetic, `in`, attribute and item lookup
 * follow Python and Jinja2's SandboxedEnvironment: only the methods listed here
 * (str, list, dict, and Jinja2's own objects) can be reached from a template, so
 * nothing leads to JavaScript's prototypes or `Function`.
 */
import { JinjaError, typeError, valueError } from "./errors.ts";

// --- the types -------------------------------------------------------------

/** A Python float. Ints are plain (integral) numbers. */
export class PyFloat {
  constructor(readonly value: number) {}
}

const tuples = new WeakSet<readonly unknown[]>();

/** A Python tuple: an Array that cannot change and prints with parentheses. */
export function tuple(items: unknown[]): readonly unknown[] {
  Object.freeze(items);
  tuples.add(items);
  return items;
}

export function isTuple(value: unknown): boolean {
  return Array.isArray(value) && tuples.has(value);
}

/** Jinja2's Undefined: the value of a missing variable, attribute or item. */
export class Undefined {
  constructor(
    readonly hint?: string,
    readonly name?: unknown,
    readonly obj: unknown = NO_OBJECT,
    readonly exception = "UndefinedError",
  ) {}

  get message(): string {
    if (this.hint) return this.hint;
    if (this.obj === NO_OBJECT) return `${pyRepr(this.name)} is undefined`;
    if (typeof this.name !== "string") return `${typeName(this.obj)} object has no element ${pyRepr(this.name)}`;
    return `'${typeName(this.obj)}' object has no attribute ${pyRepr(this.name)}`;
  }

  /** Every use other than printing, truth, iteration, length and `==` fails like this. */
  fail(): never {
    throw new JinjaError(this.exception, this.message);
  }
}
const NO_OBJECT = Symbol("no object");

/** A callable value: a method, a global function, a macro. */
export abstract class PyCallable {
  abstract readonly pyName: string;
  abstract call(args: unknown[], kwargs: Map<string, unknown>): unknown;
  repr(): string {
    return `<built-in function ${this.pyName}>`;
  }
}

/** Objects of Jinja2's own (loop, namespace, macro, ...) with named attributes. */
export interface JinjaObject {
  /** The attribute, or NO_ATTRIBUTE. */
  attribute(name: string): unknown;
  /** The item for `obj[key]`, or NO_KEY; objects without items leave it out. */
  item?(key: unknown): unknown;
  repr(): string;
  /** What str() gives, when not the repr. */
  str?(): string;
}

export const NO_ATTRIBUTE = Symbol("no attribute");

export function isJinjaObject(value: unknown): value is JinjaObject {
  return typeof value === "object" && value !== null && typeof (value as JinjaObject).attribute === "function";
}

/** A function written in TypeScript, called with Python's arguments. */
export class BuiltinFunction extends PyCallable {
  constructor(readonly pyName: string, readonly fn: (args: unknown[], kwargs: Map<string, unknown>) => unknown) {
    super();
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    return this.fn(args, kwargs);
  }
}

/** A method of a str, list or dict, bound to its object. */
class BoundMethod extends PyCallable {
  constructor(
    readonly pyName: string,
    readonly self: unknown,
    readonly fn: (self: never, args: unknown[], kwargs: Map<string, unknown>) => unknown,
  ) {
    super();
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    return this.fn(this.self as never, args, kwargs);
  }

  override repr(): string {
    return `<built-in method ${this.pyName} of ${typeName(this.self)} object>`;
  }
}

/** `dict.keys()`, `.values()`, `.items()`. */
export class DictView {
  constructor(readonly kind: "keys" | "values" | "items", readonly dict: Map<unknown, unknown>) {}

  items(): unknown[] {
    if (this.kind === "keys") return [...this.dict.keys()];
    if (this.kind === "values") return [...this.dict.values()];
    return [...this.dict.entries()].map(([k, v]) => tuple([k, v]));
  }
}

/** `range(...)`. */
export class PyRange {
  constructor(readonly start: number, readonly stop: number, readonly step: number) {}

  get length(): number {
    const span = this.step > 0 ? this.stop - this.start : this.start - this.stop;
    return Math.max(0, Math.ceil(span / Math.abs(this.step)));
  }

  items(): number[] {
    return Array.from({ length: this.length }, (_, i) => this.start + i * this.step);
  }
}

export function isInt(value: unknown): value is number {
  return typeof value === "number";
}

export function isNumeric(value: unknown): value is number | PyFloat | boolean {
  return typeof value === "number" || typeof value === "boolean" || value instanceof PyFloat;
}

/** A number, bool or float as a JavaScript number. */
export function numberOf(value: number | PyFloat | boolean): number {
  return value instanceof PyFloat ? value.value : Number(value);
}

/** Python's `type(x).__name__`. */
export function typeName(value: unknown): string {
  if (value === null) return "NoneType";
  if (value instanceof Undefined) return "Undefined";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return "int";
  if (value instanceof PyFloat) return "float";
  if (isTuple(value)) return "tuple";
  if (Array.isArray(value)) return "list";
  if (value instanceof Map) return "dict";
  if (value instanceof DictView) return `dict_${value.kind}`;
  if (value instanceof PyRange) return "range";
  if (value instanceof PyCallable) return "function";
  if (isJinjaObject(value)) return value.constructor.name;
  return "object";
}

// --- converting to and from JavaScript ---------------------------------------

/** A JSON-like value (a job context, parsed YAML) as the Python value Jinja2 would get. */
export function fromJs(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "number") return Number.isInteger(value) ? value : new PyFloat(value);
  if (Array.isArray(value)) return value.map(fromJs);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [fromJs(k), fromJs(v)]));
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    return new Map(Object.entries(value).map(([k, v]) => [k, fromJs(v)]));
  }
  return value;
}

// --- printing ----------------------------------------------------------------

/** Python's `str()`. */
export function pyStr(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Undefined) return "";
  if (isJinjaObject(value) && value.str) return value.str();
  return pyRepr(value);
}

/** Python's `repr()`. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return stringRepr(value);
  if (typeof value === "number") return intStr(value);
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (value instanceof Undefined) return "Undefined";
  if (Array.isArray(value)) {
    const items = value.map(pyRepr);
    if (!isTuple(value)) return `[${items.join(", ")}]`;
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
  }
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  if (value instanceof DictView) return `dict_${value.kind}(${pyRepr(value.items())})`;
  if (value instanceof PyRange) {
    return `range(${value.start}, ${value.stop}${value.step === 1 ? "" : `, ${value.step}`})`;
  }
  if (value instanceof PyCallable) return value.repr();
  if (isJinjaObject(value)) return value.repr();
  return String(value);
}

function intStr(value: number): string {
  return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
}

/** Python's `repr()` of a float: the shortest digits that read back, in Python's notation. */
export function floatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace(/^-/, "").replace(".", "");
  let out: string;
  if (exponent >= -4 && exponent < 16) {
    const point = exponent + 1;
    if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
    else if (point >= digits.length) out = `${digits}${"0".repeat(point - digits.length)}.0`;
    else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  } else {
    const rest = digits.slice(1);
    const e = Math.abs(exponent);
    out = `${digits[0]}${rest ? `.${rest}` : ""}e${exponent < 0 ? "-" : "+"}${e < 10 ? `0${e}` : e}`;
  }
  return negative ? `-${out}` : out;
}

/** Characters Python's repr() writes as escapes (str.isprintable() is false for them). */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr()` of a string: single quotes unless it holds one and no double quote. */
export function stringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) {
      if (code < 0x100) out += `\\x${code.toString(16).padStart(2, "0")}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else out += `\\U${code.toString(16).padStart(8, "0")}`;
    } else out += ch;
  }
  return out + quote;
}

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

// --- attribute and item lookup (the sandbox) ----------------------------------------

/**
 * `obj.name` as Jinja2's SandboxedEnvironment.getattr gives it: an attribute
 * (only the methods listed here, never one starting with `_`), else the item of
 * that name, else Undefined.
 */
export function getAttribute(obj: unknown, name: string): unknown {
  if (obj instanceof Undefined) {
    // Python finds Undefined's own attributes; any other makes it fail.
    if (UNDEFINED_ATTRIBUTES.has(name) || /^__\w+__$/.test(name) && OBJECT_DUNDERS.has(name)) return unsafe(obj, name);
    obj.fail();
  }
  // Python's own attributes (`__class__`, ...) exist on every value and are refused by the sandbox.
  if (OBJECT_DUNDERS.has(name)) return unsafe(obj, name);
  const attribute = attributeOf(obj, name);
  if (attribute !== NO_ATTRIBUTE) return attribute;
  const item = itemOf(obj, name);
  if (item !== NO_KEY) return item;
  return new Undefined(undefined, name, obj);
}

/** Attributes every Python object has: the sandbox refuses them (SecurityError on use). */
const OBJECT_DUNDERS = new Set(
  ("class doc init new repr str hash eq ne lt le gt ge getattribute setattr delattr dir format sizeof reduce " +
    "reduce_ex subclasshook init_subclass len iter getitem contains add mul").split(" ").map((n) => `__${n}__`),
);

/** What jinja2.runtime.Undefined has besides: its slots, its failing operators. */
const UNDEFINED_ATTRIBUTES = new Set([
  "_undefined_hint",
  "_undefined_obj",
  "_undefined_name",
  "_undefined_exception",
  "_undefined_message",
  "_fail_with_undefined_error",
  ...("module slots getattr aiter bool radd sub rsub rmul div rdiv truediv rtruediv floordiv rfloordiv mod rmod " +
    "pos neg call int float complex pow rpow").split(" ").map((n) => `__${n}__`),
]);

function unsafe(obj: unknown, name: string): Undefined {
  return new Undefined(
    `access to attribute '${name}' of '${typeName(obj)}' object is unsafe.`,
    name,
    obj,
    "SecurityError",
  );
}

/** `obj[key]` as SandboxedEnvironment.getitem gives it: the item, else a str key's attribute, else Undefined. */
export function getItem(obj: unknown, key: unknown): unknown {
  if (obj instanceof Undefined) obj.fail();
  const item = itemOf(obj, key);
  if (item !== NO_KEY) return item;
  if (typeof key === "string") {
    const attribute = attributeOf(obj, key);
    if (attribute !== NO_ATTRIBUTE) return attribute;
  }
  return new Undefined(undefined, key, obj);
}

function attributeOf(obj: unknown, name: string): unknown {
  if (name.startsWith("_")) return NO_ATTRIBUTE;
  let methods: Record<string, Method> | undefined;
  if (typeof obj === "string") methods = STR_METHODS;
  else if (isTuple(obj)) methods = TUPLE_METHODS;
  else if (Array.isArray(obj)) methods = LIST_METHODS;
  else if (obj instanceof Map) methods = DICT_METHODS;
  else if (isJinjaObject(obj)) return obj.attribute(name);
  if (methods && Object.hasOwn(methods, name)) return new BoundMethod(name, obj, methods[name]);
  return NO_ATTRIBUTE;
}

function itemOf(obj: unknown, key: unknown): unknown {
  if (obj instanceof Map) return dictGet(obj, key);
  if (isJinjaObject(obj)) return obj.item ? obj.item(key) : NO_KEY;
  if ((Array.isArray(obj) || typeof obj === "string") && (typeof key === "number" || typeof key === "boolean")) {
    const items = typeof obj === "string" ? [...obj] : obj;
    const index = Number(key) < 0 ? items.length + Number(key) : Number(key);
    return index >= 0 && index < items.length ? items[index] : NO_KEY;
  }
  if (obj instanceof PyRange && typeof key === "number") {
    const items = obj.items();
    const index = key < 0 ? items.length + key : key;
    return index >= 0 && index < items.length ? items[index] : NO_KEY;
  }
  return NO_KEY;
}

/** `obj[start:stop:step]`. */
export function sliceOf(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (obj instanceof Undefined) obj.fail();
  const bound = (v: unknown, name: string): number | null => {
    if (v === null || v === undefined) return null;
    if (typeof v === "number" || typeof v === "boolean") return Number(v);
    if (v instanceof Undefined) v.fail();
    throw typeError(`slice ${name} must be integers or None or have an __index__ method`);
  };
  const items = typeof obj === "string"
    ? [...obj]
    : Array.isArray(obj)
    ? obj
    : obj instanceof PyRange
    ? obj.items()
    : null;
  if (items === null) {
    if (obj instanceof Map) throw typeError("unhashable type: 'slice'");
    throw typeError(`'${typeName(obj)}' object is not subscriptable`);
  }
  const s = bound(step, "indices") ?? 1;
  if (s === 0) throw valueError("slice step cannot be zero");
  const n = items.length;
  const clamp = (v: number | null, fallback: number) => {
    if (v === null) return fallback;
    if (v < 0) v += n;
    return s > 0 ? Math.min(Math.max(v, 0), n) : Math.min(Math.max(v, -1), n - 1);
  };
  const from = clamp(bound(start, "indices"), s > 0 ? 0 : n - 1);
  const to = clamp(bound(stop, "indices"), s > 0 ? n : -1);
  const out: unknown[] = [];
  for (let i = from; s > 0 ? i < to : i > to; i += s) out.push(items[i]);
  if (typeof obj === "string") return out.join("");
  return isTuple(obj) ? tuple(out) : out;
}

/** Calls a value with Python's arguments, as SandboxedEnvironment.call. */
export function callValue(fn: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
  if (fn instanceof Undefined) fn.fail();
  if (fn instanceof PyCallable) return fn.call(args, kwargs);
  throw typeError(`'${typeName(fn)}' object is not callable`);
}

// --- methods of str, list, dict ----------------------------------------------------

type Method = (self: never, args: unknown[], kwargs: Map<string, unknown>) => unknown;

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

function strArg(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Undefined) value.fail();
  throw typeError(`${what} must be str, not ${typeName(value)}`);
}

function optionalStr(value: unknown, what: string): string | null {
  return value === null ? null : strArg(value, what);
}

function intArg(value: unknown, what: string): number {
  if (typeof value === "number" || typeof value === "boolean") return Number(value);
  if (value instanceof Undefined) value.fail();
  throw typeError(`${what}: '${typeName(value)}' object cannot be interpreted as an integer`);
}

/** Python's whitespace (str.isspace()), as str.split() and str.strip() use it. */
const PY_WHITESPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
);

/** What Python's str.splitlines() splits at (and \r\n as one). */
const LINE_BREAKS = new Set("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029");

export function isPySpace(ch: string): boolean {
  return PY_WHITESPACE.has(ch);
}

/** Python's str.strip/lstrip/rstrip (whitespace, or any of `chars`), in linear time. */
export function pyStrip(text: string, chars: string | null, side: "both" | "left" | "right"): string {
  const strip = chars === null ? isPySpace : (ch: string) => chars.includes(ch);
  let start = 0;
  let end = text.length;
  if (side !== "right") { while (start < end && strip(text[start])) start++; }
  if (side !== "left") { while (end > start && strip(text[end - 1])) end--; }
  return text.slice(start, end);
}

function pySplit(text: string, sep: string | null, maxsplit: number, fromRight: boolean): string[] {
  if (sep === "") throw valueError("empty separator");
  if (sep === null) return fromRight ? rsplitWhitespace(text, maxsplit) : splitWhitespace(text, maxsplit);
  const pieces = text.split(sep);
  if (maxsplit < 0 || pieces.length <= maxsplit + 1) return pieces;
  return fromRight
    ? [pieces.slice(0, pieces.length - maxsplit).join(sep), ...pieces.slice(pieces.length - maxsplit)]
    : [...pieces.slice(0, maxsplit), pieces.slice(maxsplit).join(sep)];
}

/** str.split(): words between runs of whitespace; after maxsplit words the rest as it is. */
function splitWhitespace(text: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (true) {
    while (i < text.length && isPySpace(text[i])) i++;
    if (i >= text.length) return out;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(text.slice(i));
      return out;
    }
    let j = i;
    while (j < text.length && !isPySpace(text[j])) j++;
    out.push(text.slice(i, j));
    i = j;
  }
}

/** str.rsplit(): as split(), counted from the end. */
function rsplitWhitespace(text: string, maxsplit: number): string[] {
  const out: string[] = [];
  let j = text.length;
  while (true) {
    while (j > 0 && isPySpace(text[j - 1])) j--;
    if (j <= 0) return out.reverse();
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(text.slice(0, j));
      return out.reverse();
    }
    let i = j;
    while (i > 0 && !isPySpace(text[i - 1])) i--;
    out.push(text.slice(i, j));
    j = i;
  }
}

/** Python's str.replace(old, new, count=-1). */
export function pyReplace(text: string, old: string, replacement: string, count: number): string {
  if (count < 0) count = Infinity;
  if (old === "") {
    const chars = [...text];
    let out = "";
    let n = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < count) {
        out += replacement;
        n++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  let out = "";
  let from = 0;
  let n = 0;
  while (n < count) {
    const at = text.indexOf(old, from);
    if (at < 0) break;
    out += text.slice(from, at) + replacement;
    from = at + old.length;
    n++;
  }
  return out + text.slice(from);
}

const isCased = (ch: string) => ch.toLowerCase() !== ch.toUpperCase();

/** Python's str.title(). */
export function pyTitle(text: string): string {
  let out = "";
  let previousCased = false;
  for (const ch of text) {
    out += previousCased ? ch.toLowerCase() : ch.toUpperCase();
    previousCased = isCased(ch);
  }
  return out;
}

export function pyCapitalize(text: string): string {
  const [first = "", ...rest] = [...text];
  return first.toUpperCase() + rest.join("").toLowerCase();
}

function findIn(text: string, sub: string, start: unknown, end: unknown, fromRight: boolean): number {
  const window = sliceOf(text, start ?? null, end ?? null, null) as string;
  const offset = start === null || start === undefined
    ? 0
    : Math.min(Math.max(Number(start) < 0 ? text.length + Number(start) : Number(start), 0), text.length);
  const at = fromRight ? window.lastIndexOf(sub) : window.indexOf(sub);
  return at < 0 ? -1 : at + offset;
}

function prefixes(value: unknown, what: string): string[] {
  if (Array.isArray(value) && isTuple(value)) return value.map((v) => strArg(v, what));
  return [strArg(value, what)];
}

const STR_METHODS: Record<string, Method> = {
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  casefold: (s: string) => s.toLowerCase(),
  title: (s: string) => pyTitle(s),
  capitalize: (s: string) => pyCapitalize(s),
  swapcase: (s: string) => [...s].map((c) => c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()).join(""),
  strip: (s: string, a, k) =>
    pyStrip(s, optionalStr(bindArgs("strip", ["chars"], a, k, { chars: null }).chars, "strip arg"), "both"),
  lstrip: (s: string, a, k) =>
    pyStrip(s, optionalStr(bindArgs("lstrip", ["chars"], a, k, { chars: null }).chars, "lstrip arg"), "left"),
  rstrip: (s: string, a, k) =>
    pyStrip(s, optionalStr(bindArgs("rstrip", ["chars"], a, k, { chars: null }).chars, "rstrip arg"), "right"),
  split: (s: string, a, k) => {
    const { sep, maxsplit } = bindArgs("split", ["sep", "maxsplit"], a, k, { sep: null, maxsplit: -1 });
    return pySplit(s, optionalStr(sep, "must be str or None"), intArg(maxsplit, "maxsplit"), false);
  },
  rsplit: (s: string, a, k) => {
    const { sep, maxsplit } = bindArgs("rsplit", ["sep", "maxsplit"], a, k, { sep: null, maxsplit: -1 });
    return pySplit(s, optionalStr(sep, "must be str or None"), intArg(maxsplit, "maxsplit"), true);
  },
  splitlines: (s: string, a, k) => {
    const { keepends } = bindArgs("splitlines", ["keepends"], a, k, { keepends: false });
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      if (!LINE_BREAKS.has(s[i])) continue;
      const end = s[i] === "\r" && s[i + 1] === "\n" ? i + 2 : i + 1;
      out.push(s.slice(start, truthy(keepends) ? end : i));
      start = end;
      i = end - 1;
    }
    if (start < s.length) out.push(s.slice(start));
    return out;
  },
  replace: (s: string, a, k) => {
    const { old, new: replacement, count } = bindArgs("replace", ["old", "new", "count"], a, k, { count: -1 });
    return pyReplace(
      s,
      strArg(old, "replace() argument 1"),
      strArg(replacement, "replace() argument 2"),
      intArg(count, "count"),
    );
  },
  startswith: (s: string, a, k) => {
    const { prefix, start, end } = bindArgs("startswith", ["prefix", "start", "end"], a, k, { start: null, end: null });
    const window = sliceOf(s, start, end, null) as string;
    return prefixes(prefix, "startswith first arg").some((p) => window.startsWith(p));
  },
  endswith: (s: string, a, k) => {
    const { suffix, start, end } = bindArgs("endswith", ["suffix", "start", "end"], a, k, { start: null, end: null });
    const window = sliceOf(s, start, end, null) as string;
    return prefixes(suffix, "endswith first arg").some((p) => window.endsWith(p));
  },
  find: (s: string, a, k) => {
    const { sub, start, end } = bindArgs("find", ["sub", "start", "end"], a, k, { start: null, end: null });
    return findIn(s, strArg(sub, "must be str"), start, end, false);
  },
  rfind: (s: string, a, k) => {
    const { sub, start, end } = bindArgs("rfind", ["sub", "start", "end"], a, k, { start: null, end: null });
    return findIn(s, strArg(sub, "must be str"), start, end, true);
  },
  index: (s: string, a, k) => {
    const { sub, start, end } = bindArgs("index", ["sub", "start", "end"], a, k, { start: null, end: null });
    const at = findIn(s, strArg(sub, "must be str"), start, end, false);
    if (at < 0) throw valueError("substring not found");
    return at;
  },
  rindex: (s: string, a, k) => {
    const { sub, start, end } = bindArgs("rindex", ["sub", "start", "end"], a, k, { start: null, end: null });
    const at = findIn(s, strArg(sub, "must be str"), start, end, true);
    if (at < 0) throw valueError("substring not found");
    return at;
  },
  count: (s: string, a, k) => {
    const { sub } = bindArgs("count", ["sub"], a, k);
    const needle = strArg(sub, "must be str");
    return needle === "" ? [...s].length + 1 : s.split(needle).length - 1;
  },
  join: (s: string, a, k) => {
    const { iterable } = bindArgs("join", ["iterable"], a, k);
    return iterate(iterable).map((item, i) => {
      if (typeof item !== "string") {
        throw typeError(`sequence item ${i}: expected str instance, ${typeName(item)} found`);
      }
      return item;
    }).join(s);
  },
  partition: (s: string, a, k) => {
    const sep = strArg(bindArgs("partition", ["sep"], a, k).sep, "must be str");
    const at = s.indexOf(sep);
    return tuple(at < 0 ? [s, "", ""] : [s.slice(0, at), sep, s.slice(at + sep.length)]);
  },
  rpartition: (s: string, a, k) => {
    const sep = strArg(bindArgs("rpartition", ["sep"], a, k).sep, "must be str");
    const at = s.lastIndexOf(sep);
    return tuple(at < 0 ? ["", "", s] : [s.slice(0, at), sep, s.slice(at + sep.length)]);
  },
  removeprefix: (s: string, a, k) => {
    const prefix = strArg(bindArgs("removeprefix", ["prefix"], a, k).prefix, "must be str");
    return prefix && s.startsWith(prefix) ? s.slice(prefix.length) : s;
  },
  removesuffix: (s: string, a, k) => {
    const suffix = strArg(bindArgs("removesuffix", ["suffix"], a, k).suffix, "must be str");
    return suffix && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
  },
  zfill: (s: string, a, k) => {
    const width = intArg(bindArgs("zfill", ["width"], a, k).width, "zfill");
    const sign = /^[+-]/.test(s) ? s[0] : "";
    const body = s.slice(sign.length);
    return sign + body.padStart(width - sign.length, "0");
  },
  center: (s: string, a, k) => {
    const { width, fillchar } = bindArgs("center", ["width", "fillchar"], a, k, { fillchar: " " });
    return pyCenter(s, intArg(width, "center"), strArg(fillchar, "fillchar"));
  },
  ljust: (s: string, a, k) => {
    const { width, fillchar } = bindArgs("ljust", ["width", "fillchar"], a, k, { fillchar: " " });
    return s.padEnd(intArg(width, "ljust"), strArg(fillchar, "fillchar"));
  },
  rjust: (s: string, a, k) => {
    const { width, fillchar } = bindArgs("rjust", ["width", "fillchar"], a, k, { fillchar: " " });
    return s.padStart(intArg(width, "rjust"), strArg(fillchar, "fillchar"));
  },
  isdigit: (s: string) => /^\p{Nd}+$/u.test(s),
  isdecimal: (s: string) => /^\p{Nd}+$/u.test(s),
  isnumeric: (s: string) => /^\p{N}+$/u.test(s),
  isalpha: (s: string) => /^\p{L}+$/u.test(s),
  isalnum: (s: string) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s: string) => s !== "" && [...s].every(isPySpace),
  islower: (s: string) => [...s].some(isCased) && s === s.toLowerCase(),
  isupper: (s: string) => [...s].some(isCased) && s === s.toUpperCase(),
  istitle: (s: string) => [...s].some(isCased) && s === pyTitle(s),
  isidentifier: (s: string) => /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u.test(s),
  format: (s: string, a, k) => strFormat(s, a, k),
  format_map: (s: string, a, k) => {
    if (k.size) throw typeError("format_map() takes no keyword arguments");
    if (a.length !== 1) throw typeError(`format_map() takes exactly one argument (${a.length} given)`);
    return strFormat(s, [], a[0] instanceof Map ? a[0] as Map<string, unknown> : new Map());
  },
};

export function pyCenter(text: string, width: number, fill = " "): string {
  const length = [...text].length;
  if (width <= length) return text;
  const total = width - length;
  // CPython's str.center: the odd extra fill goes left when both the margin and the width are odd.
  const left = Math.floor(total / 2) + (total & width & 1);
  return fill.repeat(left) + text + fill.repeat(total - left);
}

const SEQUENCE_METHODS: Record<string, Method> = {
  count: (l: unknown[], a, k) => l.filter((x) => pyEq(x, bindArgs("count", ["value"], a, k).value)).length,
  index: (l: unknown[], a, k) => {
    const { value } = bindArgs("index", ["value", "start", "stop"], a, k, { start: 0, stop: null });
    const at = l.findIndex((x) => pyEq(x, value));
    if (at < 0) throw valueError(`${pyRepr(value)} is not in list`);
    return at;
  },
};

const TUPLE_METHODS: Record<string, Method> = SEQUENCE_METHODS;

const LIST_METHODS: Record<string, Method> = {
  ...SEQUENCE_METHODS,
  append: (l: unknown[], a, k) => {
    l.push(bindArgs("append", ["object"], a, k).object);
    return null;
  },
  extend: (l: unknown[], a, k) => {
    l.push(...iterate(bindArgs("extend", ["iterable"], a, k).iterable));
    return null;
  },
  insert: (l: unknown[], a, k) => {
    const { index, object } = bindArgs("insert", ["index", "object"], a, k);
    let at = intArg(index, "insert");
    if (at < 0) at = Math.max(0, l.length + at);
    l.splice(Math.min(at, l.length), 0, object);
    return null;
  },
  pop: (l: unknown[], a, k) => {
    let at = intArg(bindArgs("pop", ["index"], a, k, { index: -1 }).index, "pop");
    if (l.length === 0) throw new JinjaError("IndexError", "pop from empty list");
    if (at < 0) at += l.length;
    if (at < 0 || at >= l.length) throw new JinjaError("IndexError", "pop index out of range");
    return l.splice(at, 1)[0];
  },
  remove: (l: unknown[], a, k) => {
    const { value } = bindArgs("remove", ["value"], a, k);
    const at = l.findIndex((x) => pyEq(x, value));
    if (at < 0) throw valueError("list.remove(x): x not in list");
    l.splice(at, 1);
    return null;
  },
  clear: (l: unknown[]) => {
    l.length = 0;
    return null;
  },
  copy: (l: unknown[]) => [...l],
  reverse: (l: unknown[]) => {
    l.reverse();
    return null;
  },
  sort: (l: unknown[], a, k) => {
    const { reverse } = bindArgs("sort", ["key", "reverse"], a.length ? a : [], k, { key: null, reverse: false });
    if (a.length) throw typeError("sort() takes no positional arguments");
    const sorted = sortValues(l, (x) => x, truthy(reverse));
    l.splice(0, l.length, ...sorted);
    return null;
  },
};

const DICT_METHODS: Record<string, Method> = {
  get: (d: Map<unknown, unknown>, a, k) => {
    if (k.size) throw typeError("get() takes no keyword arguments");
    if (a.length < 1 || a.length > 2) throw typeError(`get expected at most 2 arguments, got ${a.length}`);
    const value = dictGet(d, a[0]);
    return value === NO_KEY ? (a.length > 1 ? a[1] : null) : value;
  },
  items: (d: Map<unknown, unknown>) => new DictView("items", d),
  keys: (d: Map<unknown, unknown>) => new DictView("keys", d),
  values: (d: Map<unknown, unknown>) => new DictView("values", d),
  copy: (d: Map<unknown, unknown>) => new Map(d),
  clear: (d: Map<unknown, unknown>) => {
    d.clear();
    return null;
  },
  pop: (d: Map<unknown, unknown>, a) => {
    if (a.length < 1 || a.length > 2) throw typeError(`pop expected at most 2 arguments, got ${a.length}`);
    const value = dictGet(d, a[0]);
    if (value === NO_KEY) {
      if (a.length > 1) return a[1];
      throw new JinjaError("KeyError", pyRepr(a[0]));
    }
    for (const key of d.keys()) if (pyEq(key, a[0])) d.delete(key);
    return value;
  },
  popitem: (d: Map<unknown, unknown>) => {
    const last = [...d].pop();
    if (!last) throw new JinjaError("KeyError", "'popitem(): dictionary is empty'");
    d.delete(last[0]);
    return tuple(last);
  },
  setdefault: (d: Map<unknown, unknown>, a) => {
    if (a.length < 1 || a.length > 2) throw typeError(`setdefault expected at most 2 arguments, got ${a.length}`);
    const value = dictGet(d, a[0]);
    if (value !== NO_KEY) return value;
    dictSet(d, a[0], a.length > 1 ? a[1] : null);
    return a.length > 1 ? a[1] : null;
  },
  update: (d: Map<unknown, unknown>, a, k) => {
    if (a.length > 1) throw typeError(`update expected at most 1 argument, got ${a.length}`);
    if (a.length) dictUpdate(d, a[0]);
    for (const [key, value] of k) dictSet(d, key, value);
    return null;
  },
};

/** Python's sorted(): stable, by Python's order of the keys, TypeError across types. */
export function sortValues(items: readonly unknown[], key: (item: unknown) => unknown, reverse: boolean): unknown[] {
  const keyed = items.map((item, i) => ({ item, key: key(item), i }));
  keyed.sort((a, b) => {
    const order = reverse ? compareValues(b.key, a.key) : compareValues(a.key, b.key);
    return order || a.i - b.i;
  });
  return keyed.map((k) => k.item);
}

// --- string formatting ---------------------------------------------------------

/** Python's `text % args` (printf-style formatting). */
export function percentFormat(format: string, args: unknown): string {
  const positional = Array.isArray(args) && isTuple(args) ? [...args] : [args];
  const mapping = args instanceof Map ? args : null;
  let next = 0;
  let usedMapping = false;
  const take = (): unknown => {
    if (next >= positional.length) throw typeError("not enough arguments for format string");
    return positional[next++];
  };
  const out = format.replace(
    /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])?/g,
    (whole, key: string | undefined, flags: string, width: string | undefined, precision: string | undefined, conv) => {
      if (conv === undefined) throw valueError(`incomplete format`);
      if (conv === "%" && whole === "%%") return "%";
      let value: unknown;
      const w = width === "*" ? intArg(take(), "* wants int") : width === undefined ? 0 : Number(width);
      const p = precision === "*"
        ? intArg(take(), "* wants int")
        : precision === undefined
        ? undefined
        : Number(precision);
      if (key !== undefined) {
        if (!mapping) throw typeError("format requires a mapping");
        usedMapping = true;
        value = dictGet(mapping, key);
        if (value === NO_KEY) throw new JinjaError("KeyError", stringRepr(key));
      } else if (conv !== "%") {
        value = take();
      }
      return formatOne(conv, value, flags, w, p);
    },
  );
  if (!mapping && next < positional.length) {
    throw typeError("not all arguments converted during string formatting");
  }
  void usedMapping;
  return out;
}

function formatOne(conv: string, value: unknown, flags: string, width: number, precision: number | undefined): string {
  let body: string;
  let numericValue = false;
  switch (conv) {
    case "s":
    case "r":
    case "a":
      body = conv === "s" ? pyStr(value) : pyRepr(value);
      if (precision !== undefined) body = [...body].slice(0, precision).join("");
      break;
    case "%":
      body = "%";
      break;
    case "c":
      body = typeof value === "number" ? String.fromCodePoint(value) : strArg(value, "%c requires int or char");
      break;
    default: {
      if (!isNumeric(value)) {
        if (value instanceof Undefined) value.fail();
        throw typeError(`%${conv} format: a real number is required, not ${typeName(value)}`);
      }
      numericValue = true;
      const n = numberOf(value);
      body = formatNumber(n, conv, precision, flags.includes("#"));
      if (n >= 0 || Object.is(n, 0)) {
        if (flags.includes("+")) body = "+" + body;
        else if (flags.includes(" ")) body = " " + body;
      }
    }
  }
  if (body.length < width) {
    if (flags.includes("-")) body = body.padEnd(width);
    else if (flags.includes("0") && numericValue) {
      const sign = /^[-+ ]/.test(body) ? body[0] : "";
      body = sign + body.slice(sign.length).padStart(width - sign.length, "0");
    } else body = body.padStart(width);
  }
  return body;
}

function formatNumber(n: number, conv: string, precision: number | undefined, alternate: boolean): string {
  const sign = n < 0 || Object.is(n, -0) ? "-" : "";
  const a = Math.abs(n);
  const finite = (text: string) => (Number.isFinite(n) ? text : Number.isNaN(n) ? "nan" : "inf");
  switch (conv) {
    case "d":
    case "i":
    case "u":
      return sign + finite(String(Math.trunc(a)));
    case "o":
      return sign + (alternate ? "0o" : "") + Math.trunc(a).toString(8);
    case "x":
      return sign + (alternate ? "0x" : "") + Math.trunc(a).toString(16);
    case "X":
      return sign + (alternate ? "0X" : "") + Math.trunc(a).toString(16).toUpperCase();
    case "f":
    case "F":
      return sign + finite(a.toFixed(precision ?? 6));
    case "e":
    case "E": {
      const text = finite(exponential(a, precision ?? 6));
      return sign + (conv === "E" ? text.toUpperCase() : text);
    }
    case "g":
    case "G": {
      const text = finite(general(a, precision ?? 6, alternate));
      return sign + (conv === "G" ? text.toUpperCase() : text);
    }
  }
  return String(n);
}

function exponential(a: number, precision: number): string {
  const [mantissa, exponent] = a.toExponential(precision).split("e");
  const e = Number(exponent);
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function general(a: number, precision: number, alternate: boolean): string {
  const p = precision === 0 ? 1 : precision;
  if (a === 0) return alternate ? `0.${"0".repeat(p - 1)}` : "0";
  const exponent = Number(a.toExponential(p - 1).split("e")[1]);
  let text = exponent >= -4 && exponent < p ? a.toFixed(Math.max(0, p - 1 - exponent)) : exponential(a, p - 1);
  if (!alternate) {
    text = text.replace(/\.?0+(?=e|$)/, (m) => (m.startsWith(".") || text.includes(".") ? "" : m));
  }
  return text;
}

/** Python's `str.format` with Jinja2's sandboxed field lookup. */
export function strFormat(format: string, args: unknown[], kwargs: Map<unknown, unknown>): string {
  let auto = 0;
  let out = "";
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch === "{" && format[i + 1] === "{") {
      out += "{";
      i += 2;
      continue;
    }
    if (ch === "}" && format[i + 1] === "}") {
      out += "}";
      i += 2;
      continue;
    }
    if (ch === "}") throw valueError("Single '}' encountered in format string");
    if (ch !== "{") {
      out += ch;
      i++;
      continue;
    }
    // Find the matching brace (a spec may nest one level of {}).
    let depth = 1;
    let j = i + 1;
    for (; j < format.length && depth > 0; j++) {
      if (format[j] === "{") depth++;
      else if (format[j] === "}") depth--;
    }
    if (depth > 0) throw valueError("expected '}' before end of string");
    const field = format.slice(i + 1, j - 1);
    i = j;
    const m = /^([^.[!:]*)((?:\.[^.[!:]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field);
    if (!m) throw valueError("unmatched '{' in format spec");
    const [, first, path, conversion, rawSpec] = m;
    let value: unknown;
    if (first === "") {
      if (auto >= args.length) {
        throw new JinjaError("IndexError", "Replacement index 0 out of range for positional args tuple");
      }
      value = args[auto++];
    } else if (/^\d+$/.test(first)) {
      const index = Number(first);
      if (index >= args.length) {
        throw new JinjaError("IndexError", `Replacement index ${index} out of range for positional args tuple`);
      }
      value = args[index];
    } else {
      value = kwargs.get(first);
      if (!kwargs.has(first)) throw new JinjaError("KeyError", stringRepr(first));
    }
    for (const part of path.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
      if (part.startsWith(".")) value = getAttribute(value, part.slice(1));
      else {
        const key = part.slice(1, -1);
        value = getItem(value, /^\d+$/.test(key) ? Number(key) : key);
      }
    }
    if (conversion === "r" || conversion === "a") value = pyRepr(value);
    else if (conversion === "s") value = pyStr(value);
    const spec = (rawSpec ?? "").replace(/\{([^}]*)\}/g, (_, inner: string) => strFormat(`{${inner}}`, args, kwargs));
    out += formatSpec(value, spec);
  }
  return out;
}

/** Python's `format(value, spec)` for the common format mini-language. */
function formatSpec(value: unknown, spec: string): string {
  const m = /^(?:(.)?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s.exec(spec);
  if (!m) throw valueError(`Invalid format specifier '${spec}'`);
  const [, fillChar, alignChar, signChar, alternate, zero, widthText, grouping, precisionText, type] = m;
  const width = widthText ? Number(widthText) : 0;
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  let body: string;
  let numericValue = false;
  if (typeof value === "string" || !isNumeric(value) || type === "s") {
    if (type && type !== "s") {
      if (value instanceof Undefined) value.fail();
      throw valueError(`Unknown format code '${type}' for object of type '${typeName(value)}'`);
    }
    body = spec === "" ? pyStr(value) : pyStr(value);
    if (precision !== undefined) body = [...body].slice(0, precision).join("");
  } else {
    numericValue = true;
    const n = numberOf(value);
    const conv = type ?? (value instanceof PyFloat ? "" : "d");
    if (conv === "") {
      body = precision === undefined ? pyStr(value) : general(Math.abs(n), precision, false);
      if (precision !== undefined && n < 0) body = "-" + body;
    } else if (conv === "%") {
      body = formatNumber(n * 100, "f", precision, false) + "%";
    } else if (conv === "n") {
      body = formatNumber(n, value instanceof PyFloat ? "g" : "d", precision, false);
    } else if (conv === "b") {
      body = (n < 0 ? "-" : "") + (alternate ? "0b" : "") + Math.trunc(Math.abs(n)).toString(2);
    } else {
      body = formatNumber(n, conv, precision, Boolean(alternate));
    }
    if (grouping) {
      body = body.replace(
        /^(-?)(\d+)/,
        (_, s: string, digits: string) => s + digits.replace(/\B(?=(\d{3})+(?!\d))/g, grouping),
      );
    }
    if (!body.startsWith("-")) {
      if (signChar === "+") body = "+" + body;
      else if (signChar === " ") body = " " + body;
    }
  }
  const fill = fillChar ?? (zero && !alignChar ? "0" : " ");
  const align = alignChar ?? (zero && numericValue ? "=" : numericValue ? ">" : "<");
  const length = [...body].length;
  if (length >= width) return body;
  const pad = width - length;
  switch (align) {
    case "<":
      return body + fill.repeat(pad);
    case ">":
      return fill.repeat(pad) + body;
    case "^":
      return fill.repeat(Math.floor(pad / 2)) + body + fill.repeat(pad - Math.floor(pad / 2));
    default: {
      const sign = /^[-+ ]/.test(body) ? body[0] : "";
      return sign + fill.repeat(pad) + body.slice(sign.length);
    }
  }
}
