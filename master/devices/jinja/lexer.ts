/**
 * Jinja2's lexer (jinja2/lexer.py, 3.1) for LAVA's settings: default delimiters,
 * `trim_blocks` on, `lstrip_blocks` off, `keep_trailing_newline` off, no line
 * statements. Same tokens, same whitespace control (`-` strips, `+` keeps), same
 * rule that `%}` and `}}` only end a tag when brackets are balanced (so a nested
 * dict may end in `}}` inside `{% set %}`), same string escapes (Python's
 * `unicode-escape`).
 */
import { JinjaError } from "./errors.ts";
import { pyStrip } from "./str_methods.ts";

export type TokenType =
  | "data"
  | "block_begin"
  | "block_end"
  | "variable_begin"
  | "variable_end"
  | "name"
  | "string"
  | "integer"
  | "float"
  | "operator"
  | "eof";

export interface Token {
  readonly type: TokenType;
  /** For operators, the operator text (`+`, `//`, `==`, ...). */
  readonly value: string;
  /** The literal's value: a string's text after escapes, a number's value. */
  readonly literal?: string | number;
  /** For floats: the literal is a float even when integral (`1.0`). */
  readonly isFloat?: boolean;
  readonly lineno: number;
}

const OPERATORS = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}"]
  .concat([">", "<", "=", ".", ":", "|", ",", ";"]);
const OPERATOR_RE = new RegExp(OPERATORS.map((o) => o.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|"), "y");
const WHITESPACE_RE = /\s+/y;
const FLOAT_RE = /(?<!\.)(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/y;
const INTEGER_RE = /0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[\da-fA-F])+|[1-9](?:_?\d)*|0(?:_?0)*/y;
const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}·]*/uy;
const STRING_RE = /'([^'\\]*(?:\\.[^'\\]*)*)'|"([^"\\]*(?:\\.[^"\\]*)*)"/sy;
const BLOCK_END_RE = /\+%\}|-%\}\s*|%\}\n?/y;
const VARIABLE_END_RE = /-\}\}\s*|\}\}/y;
const COMMENT_END_RE = /\+#\}|-#\}\s*|#\}\n?/g;
const RAW_BEGIN_RE = /\{%[-+]?\s*raw\s*(?:-%\}\s*|%\})/y;
const RAW_END_RE = /\{%([-+]?)\s*endraw\s*(?:\+%\}|-%\}\s*|%\}\n?)/g;
const TAG_START_RE = /\{([{%#])([-+]?)/g;

/** Splits a template into tokens; throws TemplateSyntaxError with the line. */
export function tokenize(input: string, name: string): Token[] {
  // Newlines become \n, and one trailing newline is dropped (keep_trailing_newline=False).
  const lines = input.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const source = lines.join("\n");
  const tokens: Token[] = [];
  const lineAt = lineCounter(source);
  let pos = 0;

  const fail = (message: string, at: number): never => {
    throw new JinjaError("TemplateSyntaxError", message, { name, lineno: lineAt(at) });
  };
  const push = (type: TokenType, value: string, at: number, extra?: Partial<Token>) =>
    tokens.push({ type, value, lineno: lineAt(at), ...extra });

  while (pos < source.length) {
    TAG_START_RE.lastIndex = pos;
    const tag = TAG_START_RE.exec(source);
    if (!tag) {
      push("data", source.slice(pos), pos);
      break;
    }
    let text = source.slice(pos, tag.index);
    RAW_BEGIN_RE.lastIndex = tag.index;
    const raw = tag[1] === "%" && RAW_BEGIN_RE.exec(source);
    // `{%-`, `{{-`, `{#-` strip the whitespace before the tag (a raw tag too).
    const stripBefore = raw ? /^\{%-/.test(raw[0]) : tag[2] === "-";
    if (stripBefore) text = pyStrip(text, null, "right");
    if (text) push("data", text, pos);
    if (raw) {
      const start = tag.index + raw[0].length;
      RAW_END_RE.lastIndex = start;
      const end = RAW_END_RE.exec(source);
      if (!end) fail("Missing end of raw directive", tag.index);
      let body = source.slice(start, end!.index);
      if (end![1] === "-") body = pyStrip(body, null, "right");
      if (body) push("data", body, start);
      pos = end!.index + end![0].length;
      continue;
    }
    const afterTag = tag.index + tag[0].length;
    if (tag[1] === "#") {
      COMMENT_END_RE.lastIndex = afterTag;
      const end = COMMENT_END_RE.exec(source);
      if (!end) fail("Missing end of comment tag", tag.index);
      pos = end!.index + end![0].length;
      continue;
    }
    const isBlock = tag[1] === "%";
    push(isBlock ? "block_begin" : "variable_begin", tag[0], tag.index);
    pos = lexTag(source, afterTag, isBlock, tokens, lineAt, fail);
  }
  tokens.push({ type: "eof", value: "", lineno: lineAt(source.length) });
  return tokens;
}

/** Lexes the inside of `{% %}` or `{{ }}` from `pos`; returns the position after its end. */
function lexTag(
  source: string,
  start: number,
  isBlock: boolean,
  tokens: Token[],
  lineAt: (offset: number) => number,
  fail: (message: string, at: number) => never,
): number {
  const endRe = isBlock ? BLOCK_END_RE : VARIABLE_END_RE;
  const balancing: string[] = [];
  let pos = start;
  const match = (re: RegExp) => {
    re.lastIndex = pos;
    return re.exec(source);
  };
  while (pos < source.length) {
    if (balancing.length === 0) {
      const end = match(endRe);
      if (end) {
        tokens.push({ type: isBlock ? "block_end" : "variable_end", value: end[0], lineno: lineAt(pos) });
        return pos + end[0].length;
      }
    }
    const lineno = lineAt(pos);
    let m: RegExpExecArray | null;
    if ((m = match(WHITESPACE_RE))) {
      pos += m[0].length;
    } else if ((m = match(FLOAT_RE))) {
      tokens.push({ type: "float", value: m[0], literal: Number(m[0].replaceAll("_", "")), isFloat: true, lineno });
      pos += m[0].length;
    } else if ((m = match(INTEGER_RE))) {
      tokens.push({ type: "integer", value: m[0], literal: parseInteger(m[0]), lineno });
      pos += m[0].length;
    } else if ((m = match(NAME_RE))) {
      tokens.push({ type: "name", value: m[0], lineno });
      pos += m[0].length;
    } else if ((m = match(STRING_RE))) {
      const body = (m[1] ?? m[2]).replace(/\r\n|\r/g, "\n");
      let literal: string;
      try {
        literal = unicodeEscape(body);
      } catch (error) {
        return fail((error as Error).message, pos);
      }
      tokens.push({ type: "string", value: m[0], literal, lineno });
      pos += m[0].length;
    } else if ((m = match(OPERATOR_RE))) {
      const op = m[0];
      if (op === "{" || op === "(" || op === "[") {
        balancing.push(op === "{" ? "}" : op === "(" ? ")" : "]");
      } else if (op === "}" || op === ")" || op === "]") {
        if (balancing.length === 0) fail(`unexpected '${op}'`, pos);
        const expected = balancing.pop();
        if (expected !== op) fail(`unexpected '${op}', expected '${expected}'`, pos);
      }
      tokens.push({ type: "operator", value: op, lineno });
      pos += op.length;
    } else {
      fail(`unexpected char ${JSON.stringify(source[pos])} at ${pos}`, pos);
    }
  }
  return fail(isBlock ? "Unexpected end of template." : "unexpected end of template", pos);
}

function parseInteger(text: string): number {
  const digits = text.replaceAll("_", "");
  const prefix = digits.slice(0, 2).toLowerCase();
  if (prefix === "0b" || prefix === "0o" || prefix === "0x") return Number(`0${prefix[1]}${digits.slice(2)}`);
  return Number(digits);
}

function lineCounter(source: string): (offset: number) => number {
  const starts = [0];
  for (let i = source.indexOf("\n"); i >= 0; i = source.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  "\n": "",
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/**
 * A string literal's text as Jinja2 decodes it: non-ASCII characters are first
 * written as backslash escapes (`encode("ascii", "backslashreplace")`), then the
 * whole is decoded as Python's `unicode-escape`. Unknown escapes stay as written.
 */
export function unicodeEscape(body: string): string {
  if (!body.includes("\\")) return body;
  let ascii = "";
  for (const ch of body) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) ascii += ch;
    else if (code < 0x100) ascii += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) ascii += `\\u${code.toString(16).padStart(4, "0")}`;
    else ascii += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  let out = "";
  for (let i = 0; i < ascii.length; i++) {
    const ch = ascii[i];
    if (ch !== "\\" || i + 1 >= ascii.length) {
      if (ch === "\\") throw new Error("\\ at end of string");
      out += ch;
      continue;
    }
    const next = ascii[++i];
    if (next in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[next];
    } else if (next >= "0" && next <= "7") {
      let digits = next;
      while (digits.length < 3 && ascii[i + 1] >= "0" && ascii[i + 1] <= "7") digits += ascii[++i];
      out += String.fromCodePoint(parseInt(digits, 8));
    } else if (next === "x" || next === "u" || next === "U") {
      const length = next === "x" ? 2 : next === "u" ? 4 : 8;
      const hex = ascii.slice(i + 1, i + 1 + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) {
        throw new Error(`truncated \\${next}${"X".repeat(length)} escape`);
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new Error("illegal Unicode character");
      out += String.fromCodePoint(code);
      i += length;
    } else if (next === "N") {
      throw new Error("\\N{...} escapes are not supported");
    } else {
      out += "\\" + next;
    }
  }
  return out;
}
