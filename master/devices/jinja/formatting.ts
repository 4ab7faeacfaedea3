/**
 * Python's string formatting: `text % args` and str.format() with format specs.
 */
import { JinjaError, typeError, valueError } from "./errors.ts";
import { intArg, strArg } from "./arguments.ts";
import { getAttribute, getItem } from "./lookup.ts";
import { dictGet, NO_KEY } from "./operations.ts";
import { isNumeric, isTuple, numberOf, PyFloat, pyRepr, pyStr, stringRepr, typeName, Undefined } from "./values.ts";

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
