/**
 * Jinja2 templates as LAVA renders device configuration, on nunjucks (the
 * maintained JavaScript port of Jinja2) with the differences LAVA's templates hit
 * corrected here, each one proven against Python's Jinja2 in jinja_test.ts:
 *
 * 1. Printing: Jinja2 prints Python values (`True`, `None`, `['a', 'b']`,
 *    `{'k': 1}`), which LAVA's templates rely on to produce YAML; nunjucks prints
 *    JavaScript's (`true`, ``, `a,b`, `[object Object]`). Values print as Python's.
 * 2. `+` on lists concatenates them in Jinja2 (`defaults + ["setenv autoload no"]`);
 *    in nunjucks it made a string. `+` follows Python here.
 * 2b. Truth: an empty list or dict is false in Jinja2 (`{% if docker_devices|default([]) %}`)
 *    and true in JavaScript. `if`, `not`, `and`, `or` and `x if c else y` use Python's
 *    truth here, and `and`/`or` return an operand as Python does.
 * 3. `}}` inside a `{% ... %}` tag (a nested dict literal ending a `set`) closes
 *    the tag in nunjucks' lexer; in Jinja2 it is two braces. Such braces are
 *    separated before parsing.
 * 4. `self.BLOCK()` renders another block of the template in Jinja2; nunjucks has
 *    no `self`. It is rewritten to a call that renders the block.
 * 5. A test may take one argument without parentheses in Jinja2 (`x is sameas true`);
 *    nunjucks needs `sameas(true)`. The parentheses are added.
 * 6. With `trim_blocks`, Jinja2 also drops the newline after a comment `#}`, and it
 *    drops the last newline of every template file (`keep_trailing_newline=False`);
 *    nunjucks does neither. Both are done here.
 * 7. The `iterable` test is true for an undefined variable, as Jinja2's Undefined
 *    iterates as empty (nunjucks' test threw).
 * 8. The `|string` filter gives Python's `str()`, and dict/list methods (`.get`,
 *    `.items`, ...) come from nunjucks' own Jinja compatibility layer.
 * 9. A float literal with no fraction (`default(0.0)`) prints as `0.0` in Jinja2 and
 *    `0` in JavaScript, which has one number type. Such literals are kept as floats.
 * 10. LAVA's extra filters: `shlex_quote`, `yaml_quote`, `qemu_guest_fs_interface`.
 *
 * Templates come from the lab's admins (device types and dictionaries); job
 * submitters only supply values (the job `context`), never template text, and
 * job_values.ts keeps those values from changing the rendered YAML's structure.
 * Templates are sandboxed as in Jinja2's SandboxedEnvironment: no attribute that
 * starts with `_`, and no `constructor`, so a template cannot reach `Function`.
 */
import nunjucks from "nunjucks";
import { stringify as yamlStringify } from "yaml";
import { join } from "node:path";
import { fenceJobStrings, type JobStrings } from "./job_values.ts";

// --- Python-compatible printing --------------------------------------------

/** Python's `repr()` of a string: single quotes unless it holds one and no double quote. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's `repr()` of a value from a template. */
export function pythonRepr(value: unknown): string {
  if (value === undefined || value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return pythonStringRepr(value);
  if (value instanceof nunjucks.runtime.SafeString) return pythonStringRepr(String(value));
  if (typeof value === "number") return pythonNumber(value);
  if (value instanceof PyFloat) return value.toString();
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(", ")}}`;
  }
  return String(value);
}

function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  return String(value);
}

/** Python's `str()`: strings as they are, everything else as its repr. */
export function pythonStr(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof nunjucks.runtime.SafeString) return String(value);
  return pythonRepr(value);
}

/** What `{{ value }}` prints: Python's str(), with an undefined variable printing nothing. */
function printed(value: unknown): string {
  return value === undefined ? "" : pythonStr(value);
}

/** A float whose value is integral (`0.0`): a number everywhere, printed as Python prints floats. */
export class PyFloat extends Number {
  override toString(): string {
    const value = this.valueOf();
    return Number.isInteger(value) ? value.toFixed(1) : String(value);
  }
}

/** Python's truth value. */
export function pythonTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (typeof value === "number") return !Number.isNaN(value);
  if (value instanceof Number) return value.valueOf() !== 0 && !Number.isNaN(value.valueOf());
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof nunjucks.runtime.SafeString) return String(value) !== "";
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.keys(value as object).length > 0;
  }
  return true;
}

/** Python's `+`: lists concatenate, everything else as JavaScript does. */
function pythonAdd(left: unknown, right: unknown): unknown {
  if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  // deno-lint-ignore no-explicit-any
  return (left as any) + (right as any);
}

// --- the patches, applied once per process --------------------------------

let patched = false;

/** The job strings of the render under way (renders are synchronous, so one at a time). */
let renderingJobStrings: JobStrings | undefined;

/**
 * Attribute names a template may not reach, as in Jinja2's sandbox: through
 * `constructor` any value leads to `Function`, which runs code in the master.
 */
const UNSAFE_MEMBER = /^(?:_.*|constructor|prototype|caller|callee|arguments)$/;

function patchNunjucks(): void {
  if (patched) return;
  patched = true;
  nunjucks.installJinjaCompat();
  const runtime = nunjucks.runtime as unknown as Record<string, unknown>;
  runtime.suppressValue = (value: unknown) => {
    const text = printed(value);
    // A block printed again (SafeString) had its job strings fenced where they were printed.
    return renderingJobStrings && !(value instanceof nunjucks.runtime.SafeString)
      ? fenceJobStrings(text, renderingJobStrings)
      : text;
  };
  const memberLookup = runtime.memberLookup as (obj: unknown, name: unknown) => unknown;
  runtime.memberLookup = (obj: unknown, name: unknown) =>
    typeof name === "string" && UNSAFE_MEMBER.test(name) ? undefined : memberLookup(obj, name);
  runtime.basaltAdd = pythonAdd;
  runtime.basaltTruthy = pythonTruthy;
  runtime.basaltOr = (left: unknown, right: () => unknown) => pythonTruthy(left) ? left : right();
  runtime.basaltAnd = (left: unknown, right: () => unknown) => pythonTruthy(left) ? right() : left;
  // deno-lint-ignore no-explicit-any
  const { compiler, nodes } = nunjucks as any;
  const proto = compiler.Compiler.prototype;
  const call = (helper: string, ...operands: unknown[]) =>
    function (this: CompilerLike, _node: unknown, frame: unknown) {
      this._emit(`runtime.${helper}(`);
      operands.forEach((operand, i) => {
        if (i > 0) this._emit(", ");
        this.compile(operand, frame);
      });
      this._emit(")");
    };
  proto.compileAdd = function (this: CompilerLike, node: BinaryNode, frame: unknown) {
    call("basaltAdd", node.left, node.right).call(this, node, frame);
  };
  proto.compileNot = function (this: CompilerLike, node: { target: unknown }, frame: unknown) {
    this._emit("!");
    call("basaltTruthy", node.target).call(this, node, frame);
  };
  const lazy = (helper: string) =>
    function (this: CompilerLike, node: BinaryNode, frame: unknown) {
      this._emit(`runtime.${helper}(`);
      this.compile(node.left, frame);
      this._emit(", function() { return ");
      this.compile(node.right, frame);
      this._emit("; })");
    };
  proto.compileOr = lazy("basaltOr");
  proto.compileAnd = lazy("basaltAnd");
  // Conditions become a Group node (which every expression slot accepts) that
  // compiles to a truth test.
  proto.compilePythonTruth = function (this: CompilerLike, node: { children: unknown[] }, frame: unknown) {
    call("basaltTruthy", node.children[0]).call(this, node, frame);
  };
  const truthOf = (cond: { lineno: number; colno: number }) => {
    const group = new nodes.Group(cond.lineno, cond.colno, [cond]);
    Object.defineProperty(group, "typename", { value: "PythonTruth" });
    return group;
  };
  for (const name of ["compileIf", "compileInlineIf"]) {
    const original = proto[name];
    proto[name] = function (this: CompilerLike, node: { cond: { lineno: number; colno: number } }, ...rest: unknown[]) {
      if (node.cond) node.cond = truthOf(node.cond);
      return original.call(this, node, ...rest);
    };
  }
  // Integral float literals stay floats: the parser keeps them, the compiler boxes them.
  runtime.basaltFloat = (value: number) => new PyFloat(value);
  const { parser, lexer } = nunjucks as unknown as {
    parser: { Parser: { prototype: Record<string, unknown> } };
    lexer: { TOKEN_FLOAT: string };
  };
  const parsePrimary = parser.Parser.prototype.parsePrimary as (this: ParserLike, noPostfix?: boolean) => unknown;
  parser.Parser.prototype.parsePrimary = function (this: ParserLike, noPostfix?: boolean) {
    const token = this.peekToken();
    if (token && token.type === lexer.TOKEN_FLOAT && /^\d+\.0*$/.test(token.value)) {
      this.nextToken();
      const node = new nodes.Literal(token.lineno, token.colno, new PyFloat(Number(token.value)));
      return noPostfix ? node : this.parsePostfix(node);
    }
    return parsePrimary.call(this, noPostfix);
  };
  const compileLiteral = proto.compileLiteral;
  proto.compileLiteral = function (this: CompilerLike, node: { value: unknown }, frame: unknown) {
    if (node.value instanceof PyFloat) return this._emit(`runtime.basaltFloat(${node.value.valueOf()})`);
    return compileLiteral.call(this, node, frame);
  };
  // Jinja2's default(value, default, boolean): the boolean form uses Python's truth.
  runtime.basaltDefault = (value: unknown, fallback: unknown, boolean?: boolean) =>
    boolean ? (pythonTruthy(value) ? value : fallback) : (value === undefined ? fallback : value);
}

interface BinaryNode {
  left: unknown;
  right: unknown;
}

interface ParserLike {
  peekToken(): { type: string; value: string; lineno: number; colno: number } | null;
  nextToken(): unknown;
  parsePostfix(node: unknown): unknown;
}

interface CompilerLike {
  _emit(code: string): void;
  compile(node: unknown, frame: unknown): void;
}

/**
 * Rewrites what nunjucks' parser reads differently from Jinja2's: `}}` inside a
 * block tag, and `self.NAME()` block calls. Strings inside tags are left alone.
 */
export function jinjaSource(template: string): string {
  const source = template.replace(/\r?\n$/, "");
  let out = "";
  let i = 0;
  while (i < source.length) {
    const open = nextTagStart(source, i);
    if (open < 0) {
      out += rewriteSelfCalls(source.slice(i));
      break;
    }
    out += rewriteSelfCalls(source.slice(i, open));
    if (source.startsWith("{#", open)) {
      // Move the newline after the comment inside it: gone from the output, as
      // with Jinja2's trim_blocks, yet every later line keeps its number.
      let end = source.indexOf("#}", open + 2);
      if (end < 0) end = source.length - 2;
      const newline = /^\r?\n/.exec(source.slice(end + 2))?.[0] ?? "";
      out += source.slice(open, end) + newline + "#}";
      i = end + 2 + newline.length;
      continue;
    }
    // Find the tag's end, skipping quoted strings.
    let j = open + 2;
    let quote: string | undefined;
    for (; j < source.length; j++) {
      const ch = source[j];
      if (quote) {
        if (ch === "\\") j++;
        else if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') {
        quote = ch;
      } else if (ch === "%" && source[j + 1] === "}") {
        break;
      }
    }
    const body = source.slice(open + 2, j);
    out += "{%" + rewriteSelfCalls(addTestParentheses(separateBraces(body))) + "%}";
    i = j + 2;
  }
  return out;
}

function nextTagStart(source: string, from: number): number {
  const block = source.indexOf("{%", from);
  const comment = source.indexOf("{#", from);
  if (block < 0) return comment;
  if (comment < 0) return block;
  return Math.min(block, comment);
}

/**
 * `is NAME ARG` -> `is NAME(ARG)` for a single literal or name argument, as Jinja2
 * reads it (not when the next word is `and`, `or`, `else` or `if`).
 */
function addTestParentheses(tagBody: string): string {
  return tagBody.replace(
    /\bis(\s+not)?\s+([A-Za-z_]\w*)\s+(-?\d+(?:\.\d+)?|'[^']*'|"[^"]*"|[A-Za-z_]\w*)/g,
    (whole, not: string | undefined, test: string, argument: string) => {
      if (["and", "or", "else", "if", "not", "in", "is"].includes(argument) || test === "not") return whole;
      return `is${not ?? ""} ${test}(${argument})`;
    },
  );
}

function separateBraces(tagBody: string): string {
  let out = "";
  let quote: string | undefined;
  for (let k = 0; k < tagBody.length; k++) {
    const ch = tagBody[k];
    if (quote) {
      out += ch;
      if (ch === "\\" && k + 1 < tagBody.length) out += tagBody[++k];
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    out += ch;
    if ((ch === "}" && tagBody[k + 1] === "}") || (ch === "{" && tagBody[k + 1] === "{")) out += " ";
  }
  return out;
}

function rewriteSelfCalls(text: string): string {
  return text.replace(/\bself\.([A-Za-z_]\w*)\(\)/g, '__basalt_block("$1")');
}

/** Renders another block of the current template (Jinja2's `self.NAME()`). */
function renderBlock(this: { getBlock(name: string): BlockFunction; env: unknown }, name: string): unknown {
  const block = this.getBlock(name);
  let output = "";
  let failure: unknown;
  block(this.env, this, new nunjucks.runtime.Frame(), nunjucks.runtime, (error: unknown, result: string) => {
    failure = error;
    output = result;
  });
  if (failure) throw failure;
  return new nunjucks.runtime.SafeString(output);
}

type BlockFunction = (
  env: unknown,
  context: unknown,
  frame: unknown,
  runtime: unknown,
  done: (error: unknown, output: string) => void,
) => void;

// --- LAVA's extra filters --------------------------------------------------

/** Python's `shlex.quote`. */
export function shlexQuote(value: unknown): string {
  const text = pythonStr(value);
  if (text === "") return "''";
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** A value as a single-line YAML scalar, quoted when YAML would misread it. */
export function yamlQuote(value: unknown): string {
  return yamlStringify(pythonStr(value), { lineWidth: 0 }).trimEnd();
}

/** `ide` for x86 architectures (QEMU's libguestfs disk), otherwise `virtio`, unless given. */
export function qemuGuestFsInterface(arch: unknown, given?: unknown): string {
  if (given !== undefined && given !== null && given !== "") return pythonStr(given);
  return ["amd64", "x86_64", "i386"].includes(String(arch)) ? "ide" : "virtio";
}

// --- the environment -------------------------------------------------------

/** A template that failed to load, parse or render, with the file and line when known. */
export class TemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TemplateError";
  }
}

class RewritingLoader extends nunjucks.Loader {
  constructor(private readonly searchPaths: readonly string[]) {
    super();
  }

  getSource(name: string): { src: string; path: string; noCache: boolean } | null {
    if (name.includes("..") || name.startsWith("/")) return null;
    for (const dir of this.searchPaths) {
      const path = join(dir, name);
      try {
        return { src: jinjaSource(Deno.readTextFileSync(path)), path, noCache: false };
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) throw error;
      }
    }
    return null;
  }
}

export interface JinjaEnvironment {
  /** Renders the template named `name` (found on the search path) with `context`. */
  render(name: string, context: Record<string, unknown>): string;
  /**
   * Renders template text that is not a file (a dictionary sent through the API).
   * Every print of one of `jobStrings` is fenced (see job_values.ts).
   */
  renderString(source: string, context: Record<string, unknown>, name?: string, jobStrings?: JobStrings): string;
}

/**
 * An environment that loads templates from `searchPaths`, in order (LAVA: the
 * devices directory, then the device-types directories).
 */
export function jinjaEnvironment(searchPaths: readonly string[]): JinjaEnvironment {
  patchNunjucks();
  const env = new nunjucks.Environment(new RewritingLoader(searchPaths), {
    autoescape: false,
    trimBlocks: true,
    lstripBlocks: false,
    throwOnUndefined: false,
  });
  env.addGlobal("__basalt_block", renderBlock);
  env.addFilter("string", pythonStr);
  const runtime = nunjucks.runtime as unknown as { basaltDefault: (...args: unknown[]) => unknown };
  env.addFilter("default", runtime.basaltDefault);
  env.addFilter("d", runtime.basaltDefault);
  env.addFilter("shlex_quote", shlexQuote);
  env.addFilter("yaml_quote", yamlQuote);
  env.addFilter("qemu_guest_fs_interface", qemuGuestFsInterface);
  env.addFilter("tojson", (value: unknown) => JSON.stringify(value));
  // Jinja2's Undefined iterates as empty; nunjucks' test threw on it.
  env.addTest("iterable", (value: unknown) =>
    value === undefined ||
    (value !== null && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function") ||
    (typeof value === "object" && value !== null));
  const wrap = (fn: () => string) => {
    try {
      return fn();
    } catch (error) {
      throw new TemplateError(templateErrorText(error), { cause: error });
    }
  };
  return {
    render: (name, context) => wrap(() => env.render(name, context)),
    renderString: (source, context, name = "(string)", jobStrings) =>
      wrap(() => {
        renderingJobStrings = jobStrings;
        try {
          return new nunjucks.Template(jinjaSource(source), env, name, true).render(context);
        } finally {
          renderingJobStrings = undefined;
        }
      }),
  };
}

function templateErrorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // nunjucks: "(path) [Line 6, Column 34]\n  message" -> "path:6:34: message"
  const match = /^\(([^)]*)\)(?: \[Line (\d+), Column (\d+)\])?\s*\n?\s*(?:Error: )?([\s\S]*)$/.exec(text.trim());
  if (!match) return text;
  const [, path, line, column, message] = match;
  return `${path}${line ? `:${line}:${column}` : ""}: ${message.trim()}`;
}
