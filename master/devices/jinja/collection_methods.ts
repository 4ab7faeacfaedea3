/**
 * The methods of Python's list, tuple and dict that templates may call, and sorted().
 */
import { JinjaError, typeError, valueError } from "./errors.ts";
import { bindArgs, intArg, Method } from "./arguments.ts";
import { compareValues, dictGet, dictSet, dictUpdate, iterate, NO_KEY, pyEq, truthy } from "./operations.ts";
import { DictView, pyRepr, tuple } from "./values.ts";

const SEQUENCE_METHODS: Record<string, Method> = {
  count: (l: unknown[], a, k) => l.filter((x) => pyEq(x, bindArgs("count", ["value"], a, k).value)).length,
  index: (l: unknown[], a, k) => {
    const { value } = bindArgs("index", ["value", "start", "stop"], a, k, { start: 0, stop: null });
    const at = l.findIndex((x) => pyEq(x, value));
    if (at < 0) throw valueError(`${pyRepr(value)} is not in list`);
    return at;
  },
};

export const TUPLE_METHODS: Record<string, Method> = SEQUENCE_METHODS;

export const LIST_METHODS: Record<string, Method> = {
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

export const DICT_METHODS: Record<string, Method> = {
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
