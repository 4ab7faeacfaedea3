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
 * This module holds the types and their printing (str() and repr()). What Python
 * does with them is beside it: operations.ts (truth, equality, order, arithmetic,
 * dicts), lookup.ts (attributes and items, as Jinja2's SandboxedEnvironment allows:
 * only the methods in str_methods.ts and collection_methods.ts and Jinja2's own
 * objects can be reached, never JavaScript's prototypes or `Function`),
 * arguments.ts and formatting.ts. Python's semantics are mutually recursive
 * (str.format looks attributes up, which reach str's methods), so these modules
 * import one another; nothing outside jinja/ depends on that.
 */
import { JinjaError } from "./errors.ts";

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
export class BoundMethod extends PyCallable {
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
