/**
 * Attribute and item lookup, slicing and calls, as Jinja2's SandboxedEnvironment allows
 * them: only the methods of methods' tables and Jinja2's own objects are reachable, never
 * JavaScript's prototypes.
 */
import { typeError, valueError } from "./errors.ts";
import { Method } from "./arguments.ts";
import { DICT_METHODS, LIST_METHODS, TUPLE_METHODS } from "./collection_methods.ts";
import { dictGet, NO_KEY } from "./operations.ts";
import { STR_METHODS } from "./str_methods.ts";
import {
  BoundMethod,
  isJinjaObject,
  isTuple,
  NO_ATTRIBUTE,
  PyCallable,
  PyRange,
  tuple,
  typeName,
  Undefined,
} from "./values.ts";

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
