/**
 * The methods of Python's str that templates may call (split, strip, replace, format...),
 * with CPython's whitespace, case and splitting rules.
 */
import { typeError, valueError } from "./errors.ts";
import { bindArgs, intArg, Method, optionalStr, strArg } from "./arguments.ts";
import { strFormat } from "./formatting.ts";
import { sliceOf } from "./lookup.ts";
import { iterate, truthy } from "./operations.ts";
import { isTuple, tuple, typeName } from "./values.ts";

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

export const STR_METHODS: Record<string, Method> = {
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
