/**
 * Jinja2 3.1's built-in filters (jinja2/filters.py), with autoescape off as LAVA renders;
 * the helpers they share are in filters.ts.
 */
import { JinjaError, typeError, valueError } from "./errors.ts";
import { iterate, pyEq, pyLen, toFloat, toInt, truthy } from "./operations.ts";
import { callValue, getAttribute } from "./lookup.ts";
import {
  DictView,
  isNumeric,
  numberOf,
  PyFloat,
  pyRepr,
  pyStr,
  stringRepr,
  tuple,
  typeName,
  Undefined,
} from "./values.ts";
import { percentFormat } from "./formatting.ts";
import { pyCapitalize, pyCenter, pyReplace, pyStrip } from "./str_methods.ts";
import { sortValues } from "./collection_methods.ts";
import {
  args,
  attrGetter,
  FilterEnvironment,
  FilterFunction,
  htmlEscape,
  ignoreCase,
  minMax,
  multiAttrGetter,
  pyRound,
  selectOrReject,
  simple,
  sum,
  toJson,
  urlQuote,
} from "./filters.ts";

export function buildFilters(env: FilterEnvironment): Map<string, FilterFunction> {
  const filters: Record<string, FilterFunction> = {
    abs: (v, a, k) => {
      args("abs", [], a, k);
      if (v instanceof Undefined) v.fail();
      if (!isNumeric(v)) throw typeError(`bad operand type for abs(): '${typeName(v)}'`);
      return v instanceof PyFloat ? new PyFloat(Math.abs(v.value)) : Math.abs(Number(v));
    },
    attr: (v, a, k) => getAttribute(v, pyStr(args("attr", ["name"], a, k).name)),
    batch: (v, a, k) => {
      const p = args("batch", ["linecount", "fill_with"], a, k, { fill_with: null });
      const count = toInt(p.linecount);
      const out: unknown[][] = [];
      let current: unknown[] = [];
      for (const item of iterate(v)) {
        if (current.length === count) {
          out.push(current);
          current = [];
        }
        current.push(item);
      }
      if (current.length) {
        if (p.fill_with !== null && current.length < count) {
          current.push(...Array(count - current.length).fill(p.fill_with));
        }
        out.push(current);
      }
      return out;
    },
    capitalize: simple(["s"], {}, (p) => pyCapitalize(pyStr(p.s)))("capitalize"),
    center: simple(["value", "width"], { width: 80 }, (p) => pyCenter(pyStr(p.value), toInt(p.width)))("center"),
    count: (v, a, k) => {
      args("count", [], a, k);
      return pyLen(v);
    },
    default: simple(
      ["value", "default_value", "boolean"],
      { default_value: "", boolean: false },
      (p) => p.value instanceof Undefined || (truthy(p.boolean) && !truthy(p.value)) ? p.default_value : p.value,
    )("default"),
    dictsort: (v, a, k) => {
      const p = args("dictsort", ["case_sensitive", "by", "reverse"], a, k, {
        case_sensitive: false,
        by: "key",
        reverse: false,
      });
      const pos = p.by === "key" ? 0 : p.by === "value" ? 1 : -1;
      if (pos < 0) throw new JinjaError("FilterArgumentError", 'You can only sort by either "key" or "value"');
      if (!(v instanceof Map)) {
        if (v instanceof Undefined) v.fail();
        throw new JinjaError("AttributeError", `'${typeName(v)}' object has no attribute 'items'`);
      }
      const items = [...v].map(([key, item]) => tuple([key, item]));
      return sortValues(items, (item) => {
        const x = (item as unknown[])[pos];
        return truthy(p.case_sensitive) ? x : ignoreCase(x);
      }, truthy(p.reverse));
    },
    escape: (v, a, k) => {
      args("escape", [], a, k);
      return htmlEscape(v);
    },
    filesizeformat: (v, a, k) => {
      const p = args("filesizeformat", ["binary"], a, k, { binary: false });
      const bytes = toFloat(v);
      const base = truthy(p.binary) ? 1024 : 1000;
      const prefixes = truthy(p.binary)
        ? ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
        : ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
      if (bytes === 1) return "1 Byte";
      if (bytes < base) return `${Math.trunc(bytes)} Bytes`;
      let unit = base;
      for (let i = 0; i < prefixes.length; i++) {
        unit = base ** (i + 2);
        if (bytes < unit || i === prefixes.length - 1) return `${((base * bytes) / unit).toFixed(1)} ${prefixes[i]}`;
      }
      return "";
    },
    first: (v, a, k) => {
      args("first", [], a, k);
      const items = iterate(v);
      return items.length ? items[0] : new Undefined("No first item, sequence was empty.");
    },
    float: (v, a, k) => {
      const p = args("float", ["default"], a, k, { default: new PyFloat(0) });
      try {
        return new PyFloat(toFloat(v));
      } catch (error) {
        if (error instanceof JinjaError && (error.kind === "TypeError" || error.kind === "ValueError")) {
          return p.default;
        }
        throw error;
      }
    },
    forceescape: (v, a, k) => {
      args("forceescape", [], a, k);
      return htmlEscape(v);
    },
    format: (v, a, k) => {
      if (a.length && k.size) {
        throw new JinjaError("FilterArgumentError", "can't handle positional and keyword arguments at the same time");
      }
      return percentFormat(pyStr(v), k.size ? new Map(k) : tuple([...a]));
    },
    groupby: (v, a, k) => {
      const p = args("groupby", ["attribute", "default", "case_sensitive"], a, k, {
        default: null,
        case_sensitive: false,
      });
      const key = attrGetter(p.attribute, truthy(p.case_sensitive) ? undefined : ignoreCase, p.default ?? undefined);
      const original = attrGetter(p.attribute, undefined, p.default ?? undefined);
      const sorted = sortValues(iterate(v), key, false);
      const groups: unknown[] = [];
      for (const item of sorted) {
        const last = groups.at(-1) as unknown[] | undefined;
        if (last && pyEq(key(item), key((last[1] as unknown[])[0]))) (last[1] as unknown[]).push(item);
        else groups.push([original(item), [item]]);
      }
      return groups.map((g) => tuple(g as unknown[]));
    },
    indent: (v, a, k) => {
      const p = args("indent", ["width", "first", "blank"], a, k, { width: 4, first: false, blank: false });
      const indention = typeof p.width === "string" ? p.width : " ".repeat(toInt(p.width));
      const text = pyStr(v) + "\n";
      const lines = callValue(getAttribute(text, "splitlines"), [], new Map()) as string[];
      let rv: string;
      if (truthy(p.blank)) rv = lines.join("\n" + indention);
      else {
        rv = lines.shift() ?? "";
        if (lines.length) rv += "\n" + lines.map((line) => (line ? indention + line : line)).join("\n");
      }
      return truthy(p.first) ? indention + rv : rv;
    },
    int: (v, a, k) => {
      const p = args("int", ["default", "base"], a, k, { default: 0, base: 10 });
      try {
        return typeof v === "string" ? toInt(v, toInt(p.base)) : toInt(v);
      } catch (error) {
        if (!(error instanceof JinjaError && (error.kind === "TypeError" || error.kind === "ValueError"))) throw error;
        try {
          const f = toFloat(v);
          if (!Number.isFinite(f)) throw new JinjaError("OverflowError", "cannot convert float infinity to integer");
          return Math.trunc(f);
        } catch (inner) {
          if (inner instanceof JinjaError && (inner.kind === "TypeError" || inner.kind === "ValueError")) {
            return p.default;
          }
          throw inner;
        }
      }
    },
    items: (v, a, k) => {
      args("items", [], a, k);
      if (v instanceof Undefined) return [];
      if (!(v instanceof Map)) throw typeError("Can only get item pairs from a mapping.");
      return new DictView("items", v).items();
    },
    join: (v, a, k) => {
      const p = args("join", ["d", "attribute"], a, k, { d: "", attribute: null });
      let items = iterate(v);
      if (p.attribute !== null) items = items.map(attrGetter(p.attribute));
      return items.map(pyStr).join(pyStr(p.d));
    },
    last: (v, a, k) => {
      args("last", [], a, k);
      const items = iterate(v);
      return items.length ? items[items.length - 1] : new Undefined("No last item, sequence was empty.");
    },
    length: (v, a, k) => {
      args("length", [], a, k);
      return pyLen(v);
    },
    list: (v, a, k) => {
      args("list", [], a, k);
      return [...iterate(v)];
    },
    lower: simple(["s"], {}, (p) => pyStr(p.s).toLowerCase())("lower"),
    map: (v, a, k) => {
      const items = iterate(v);
      if (a.length === 0 && k.has("attribute")) {
        const rest = new Map(k);
        const attribute = rest.get("attribute");
        const fallback = rest.has("default") ? rest.get("default") : undefined;
        rest.delete("attribute");
        rest.delete("default");
        if (rest.size) throw typeError(`Unexpected keyword argument ${stringRepr([...rest.keys()][0])}`);
        return items.map(attrGetter(attribute, undefined, fallback));
      }
      if (a.length === 0) throw new JinjaError("FilterArgumentError", "map requires a filter argument");
      const name = pyStr(a[0]);
      const fn = env.filters.get(name);
      if (!fn) throw new JinjaError("TemplateRuntimeError", `No filter named ${stringRepr(name)}.`);
      return items.map((item) => fn(item, a.slice(1), k));
    },
    max: (v, a, k) =>
      minMax(
        v,
        args("max", ["case_sensitive", "attribute"], a, k, { case_sensitive: false, attribute: null }),
        (o) => o > 0,
      ),
    min: (v, a, k) =>
      minMax(
        v,
        args("min", ["case_sensitive", "attribute"], a, k, { case_sensitive: false, attribute: null }),
        (o) => o < 0,
      ),
    pprint: (v, a, k) => {
      args("pprint", [], a, k);
      return pyRepr(v);
    },
    random: (v, a, k) => {
      args("random", [], a, k);
      const items = iterate(v);
      if (items.length === 0) throw new JinjaError("IndexError", "Cannot choose from an empty sequence");
      return items[Math.floor(Math.random() * items.length)];
    },
    reject: (v, a, k) => selectOrReject(env, v, a, k, false, (b) => !b),
    rejectattr: (v, a, k) => selectOrReject(env, v, a, k, true, (b) => !b),
    replace: (v, a, k) => {
      const p = args("replace", ["old", "new", "count"], a, k, { count: null });
      return pyReplace(pyStr(v), pyStr(p.old), pyStr(p.new), p.count === null ? -1 : toInt(p.count));
    },
    reverse: (v, a, k) => {
      args("reverse", [], a, k);
      if (typeof v === "string") return [...v].reverse().join("");
      return [...iterate(v)].reverse();
    },
    round: (v, a, k) => {
      const p = args("round", ["precision", "method"], a, k, { precision: 0, method: "common" });
      const precision = toInt(p.precision);
      if (!["common", "ceil", "floor"].includes(pyStr(p.method))) {
        throw new JinjaError("FilterArgumentError", "method must be common, ceil or floor");
      }
      if (v instanceof Undefined) v.fail();
      if (!isNumeric(v)) throw typeError(`type ${typeName(v)} doesn't define __round__ method`);
      const n = numberOf(v);
      if (p.method === "common") {
        return typeof v === "number" || typeof v === "boolean"
          ? (precision >= 0 ? Number(v) : pyRound(n, precision))
          : new PyFloat(pyRound(n, precision));
      }
      const factor = 10 ** precision;
      return new PyFloat((p.method === "ceil" ? Math.ceil(n * factor) : Math.floor(n * factor)) / factor);
    },
    safe: (v, a, k) => {
      args("safe", [], a, k);
      return pyStr(v);
    },
    select: (v, a, k) => selectOrReject(env, v, a, k, false, (b) => b),
    selectattr: (v, a, k) => selectOrReject(env, v, a, k, true, (b) => b),
    slice: (v, a, k) => {
      const p = args("slice", ["slices", "fill_with"], a, k, { fill_with: null });
      const items = iterate(v);
      const slices = toInt(p.slices);
      const perSlice = Math.floor(items.length / slices);
      const withExtra = items.length % slices;
      const out: unknown[][] = [];
      let offset = 0;
      for (let i = 0; i < slices; i++) {
        const start = offset + i * perSlice;
        if (i < withExtra) offset++;
        const end = offset + (i + 1) * perSlice;
        const part = items.slice(start, end);
        if (p.fill_with !== null && i >= withExtra) part.push(p.fill_with);
        out.push(part);
      }
      return out;
    },
    sort: (v, a, k) => {
      const p = args("sort", ["reverse", "case_sensitive", "attribute"], a, k, {
        reverse: false,
        case_sensitive: false,
        attribute: null,
      });
      return sortValues(
        iterate(v),
        multiAttrGetter(p.attribute, truthy(p.case_sensitive) ? undefined : ignoreCase),
        truthy(p.reverse),
      );
    },
    string: (v, a, k) => {
      args("string", [], a, k);
      return pyStr(v);
    },
    striptags: (v, a, k) => {
      args("striptags", [], a, k);
      const text = pyStr(v).replace(/<!--[\s\S]*?-->/g, "").replace(/<[\s\S]*?>/g, "");
      const words = text.split(/\s+/).filter(Boolean).join(" ");
      return words.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'")
        .replace(/&amp;/g, "&");
    },
    sum: (v, a, k) => {
      const p = args("sum", ["attribute", "start"], a, k, { attribute: null, start: 0 });
      let items = iterate(v);
      if (p.attribute !== null) items = items.map(attrGetter(p.attribute));
      return sum(items, p.start);
    },
    title: simple(
      ["s"],
      {},
      (p) =>
        pyStr(p.s).split(/([-\s({[<]+)/).filter((item) => item !== "").map((item) =>
          [...item][0].toUpperCase() + [...item].slice(1).join("").toLowerCase()
        ).join(""),
    )("title"),
    tojson: (v, a, k) => toJson(v, args("tojson", ["indent"], a, k, { indent: null }).indent),
    trim: (v, a, k) => {
      const p = args("trim", ["chars"], a, k, { chars: null });
      return pyStrip(pyStr(v), p.chars === null ? null : pyStr(p.chars), "both");
    },
    truncate: (v, a, k) => {
      const p = args("truncate", ["length", "killwords", "end", "leeway"], a, k, {
        length: 255,
        killwords: false,
        end: "...",
        leeway: null,
      });
      const s = [...pyStr(v)];
      const length = toInt(p.length);
      const end = pyStr(p.end);
      const leeway = p.leeway === null ? 5 : toInt(p.leeway);
      if (length < [...end].length) {
        throw new JinjaError("AssertionError", `expected length >= ${[...end].length}, got ${length}`);
      }
      if (s.length <= length + leeway) return s.join("");
      const head = s.slice(0, Math.max(0, length - [...end].length)).join("");
      if (truthy(p.killwords)) return head + end;
      const space = head.lastIndexOf(" ");
      return (space < 0 ? head : head.slice(0, space)) + end;
    },
    unique: (v, a, k) => {
      const p = args("unique", ["case_sensitive", "attribute"], a, k, { case_sensitive: false, attribute: null });
      const key = attrGetter(p.attribute, truthy(p.case_sensitive) ? undefined : ignoreCase);
      const seen: unknown[] = [];
      return iterate(v).filter((item) => {
        const x = key(item);
        if (seen.some((s) => pyEq(s, x))) return false;
        seen.push(x);
        return true;
      });
    },
    upper: simple(["s"], {}, (p) => pyStr(p.s).toUpperCase())("upper"),
    urlencode: (v, a, k) => {
      args("urlencode", [], a, k);
      if (typeof v === "string") return urlQuote(v, false);
      const pairs = v instanceof Map ? [...v] : iterate(v).map((pair) => iterate(pair));
      return pairs.map(([key, item]) => `${urlQuote(key, true)}=${urlQuote(item, true)}`).join("&");
    },
    wordcount: simple(["s"], {}, (p) => (pyStr(p.s).match(/[\p{L}\p{N}_]+/gu) ?? []).length)("wordcount"),
    xmlattr: (v, a, k) => {
      const p = args("xmlattr", ["autospace"], a, k, { autospace: true });
      if (!(v instanceof Map)) {
        throw new JinjaError("AttributeError", `'${typeName(v)}' object has no attribute 'items'`);
      }
      const items: string[] = [];
      for (const [key, item] of v) {
        if (item === null || item instanceof Undefined) continue;
        const name = pyStr(key);
        if (/[\s/>=]/.test(name)) throw valueError(`Invalid character in attribute name: ${stringRepr(name)}`);
        items.push(`${htmlEscape(name)}="${htmlEscape(item)}"`);
      }
      const rv = items.join(" ");
      return truthy(p.autospace) && rv ? " " + rv : rv;
    },
  };
  filters.d = filters.default;
  filters.e = filters.escape;
  return new Map(Object.entries(filters));
}
