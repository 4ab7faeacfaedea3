/**
 * Values a job puts into its device's configuration (the job `context`) are data,
 * never YAML structure. LAVA's templates print them unquoted (`- -cpu {{ cpu }}`),
 * so a value holding `: `, a quote, a `{` or a newline could add keys the
 * dispatcher acts on (`commands.users.x.do`, run with `sh -c`). Quoting every value
 * at print time is not possible without changing what LAVA's templates produce, so
 * the check is made on the result instead:
 *
 * 1. While rendering, every place a job's string is printed is fenced with two
 *    private-use characters (the job schema refuses them in values).
 * 2. The fenced text is parsed as YAML. Every fence must open and close inside one
 *    scalar (a key or a value), and once the fences are removed the document must
 *    be the same as the unfenced text's: a job's value may only ever be the text
 *    (or the plain scalar: number, boolean) of the scalar it is printed in.
 *
 * The unfenced text is what the dispatcher gets, exactly what LAVA would render.
 */
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { FORBIDDEN_IN_CONTEXT } from "../../actors/definitions/job_schema.ts";
import { checkJobReach } from "./job_reach.ts";

const OPEN = "\uE000";
const CLOSE = "\uE001";
const FENCES = /[\uE000\uE001]/g;

/** A job's value broke, or would break, the device configuration: the job's fault, not the device's. */
export class JobValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JobValueError";
  }
}

/** The job's strings, by the context key that holds them (`extra_options[1]`). */
export interface JobStrings {
  readonly byText: ReadonlyMap<string, string>;
  /** Longest first, so a value containing another is fenced whole. */
  readonly texts: readonly string[];
}

/**
 * Every string leaf of a job's context, named by its key path. Throws on a
 * forbidden character: submission refuses them, but a job stored before that rule
 * (or a context given to an API render) meets it here.
 */
export function jobStrings(context: Readonly<Record<string, unknown>>): JobStrings {
  const byText = new Map<string, string>();
  const visit = (value: unknown, path: string) => {
    if (typeof value === "string") {
      const bad = FORBIDDEN_IN_CONTEXT.exec(value);
      if (bad) {
        throw new JobValueError(
          `context.${path}: the value holds the control character U+${
            bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
          }, which a device configuration cannot take`,
        );
      }
      if (value !== "" && !byText.has(value)) byText.set(value, path);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}[${i}]`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`);
    }
  };
  for (const [key, value] of Object.entries(context)) visit(value, key);
  return { byText, texts: [...byText.keys()].sort((a, b) => b.length - a.length) };
}

/**
 * Fences every occurrence of a job's string in text a template prints. Text that
 * already holds fences (a block rendered earlier) was fenced where it was printed.
 */
export function fenceJobStrings(text: string, strings: JobStrings): string {
  if (strings.texts.length === 0 || text === "" || text.includes(OPEN)) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const found = strings.texts.find((s) => text.startsWith(s, i));
    if (found) {
      out += OPEN + found + CLOSE;
      i += found.length;
    } else {
      out += text[i++];
    }
  }
  return out;
}

/** The rendered text without its fences: what LAVA renders. */
export function withoutFences(text: string): string {
  return text.includes(OPEN) ? text.replace(FENCES, "") : text;
}

/** The context keys whose values were printed on a line (1-based) of the fenced text. */
export function jobKeysOnLine(fenced: string, line: number, strings: JobStrings): string[] {
  const text = fenced.split("\n")[line - 1] ?? "";
  const keys = [...text.matchAll(new RegExp(`${OPEN}([^${OPEN}${CLOSE}]*)${CLOSE}`, "g"))]
    .map((m) => strings.byText.get(m[1]))
    .filter((key): key is string => key !== undefined)
    .map((key) => `context.${key}`);
  return [...new Set(keys)];
}

/**
 * Checks that the job's values stayed inside the scalars they were printed in.
 * `fenced` is the rendered text with fences; `file` names it in errors.
 */
export function checkJobStrings(fenced: string, strings: JobStrings, file: string): void {
  if (!fenced.includes(OPEN)) return;
  const plain = loadYaml(withoutFences(fenced));
  const marked = loadYaml(fenced);
  // The value whose fence is found in `text`; a split value shows only its start (or its end).
  const culprit = (text: string) => {
    const start = new RegExp(`${OPEN}([^${OPEN}${CLOSE}]*)`).exec(text)?.[1];
    const end = new RegExp(`([^${OPEN}${CLOSE}]*)${CLOSE}`).exec(text)?.[1];
    const found = strings.texts.find((s) => s === start || s === end) ??
      strings.texts.find((s) => (start !== undefined && s.startsWith(start)) || (end !== undefined && s.endsWith(end)));
    return found !== undefined ? `context.${strings.byText.get(found)}` : `a value of the job's context`;
  };
  if (marked.errors.length > 0) {
    const error = marked.errors[0];
    const line = fenced.split("\n")[error.line - 1] ?? "";
    throw new JobValueError(
      `${culprit(line)} breaks the YAML of ${file} at line ${error.line}: the job's values must be plain text`,
    );
  }
  if (plain.errors.length > 0) {
    // The fenced parse worked, the plain one did not: a value changed the YAML around it.
    const line = fenced.split("\n")[plain.errors[0].line - 1] ?? "";
    throw new JobValueError(
      `${culprit(line)} breaks the YAML of ${file} at line ${
        plain.errors[0].line
      }: the job's values must be plain text`,
    );
  }
  compare(plain.value, marked.value, "", (path, text) => {
    throw new JobValueError(
      `${culprit(text)} changes the structure of ${file} at ${path || "its top"}: ` +
        `a job's value may only be the text of the setting it is printed in`,
    );
  });
  checkJobReach(marked.value, strings, (message) => {
    throw new JobValueError(`${message} (${file})`);
  });
}

/** Walks both documents; `fail` is called at the first place where the fenced one means something else. */
function compare(plain: unknown, marked: unknown, path: string, fail: (path: string, text: string) => never): void {
  if (typeof marked === "string") {
    if (!balanced(marked)) fail(path, marked);
    const text = withoutFences(marked);
    if (typeof plain === "string") {
      if (plain !== text) fail(path, marked);
      return;
    }
    // A printed number or boolean: fenced, it read as a string; alone, it must read as the same scalar.
    if (plain !== null && typeof plain === "object") fail(path, marked);
    const alone = loadYaml(text);
    if (alone.errors.length > 0 || !sameScalar(alone.value, plain)) fail(path, marked);
    return;
  }
  if (Array.isArray(marked)) {
    if (!Array.isArray(plain) || plain.length !== marked.length) fail(path, JSON.stringify(marked));
    marked.forEach((item, i) => compare((plain as unknown[])[i], item, `${path}[${i}]`, fail));
    return;
  }
  if (marked !== null && typeof marked === "object") {
    if (plain === null || typeof plain !== "object" || Array.isArray(plain)) fail(path, JSON.stringify(marked));
    const plainEntries = Object.entries(plain as Record<string, unknown>);
    const markedEntries = Object.entries(marked as Record<string, unknown>);
    if (plainEntries.length !== markedEntries.length) fail(path, JSON.stringify(marked));
    markedEntries.forEach(([key, value], i) => {
      const [plainKey, plainValue] = plainEntries[i];
      const at = path ? `${path}.${withoutFences(key)}` : withoutFences(key);
      if (!balanced(key) || withoutFences(key) !== plainKey) fail(at, key);
      compare(plainValue, value, at, fail);
    });
    return;
  }
  if (!sameScalar(plain, marked)) fail(path, String(marked));
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b)) ||
    (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());
}

/** Fences open and close in turn, never nested, none left open. */
function balanced(text: string): boolean {
  let open = false;
  for (const ch of text) {
    if (ch === OPEN) {
      if (open) return false;
      open = true;
    } else if (ch === CLOSE) {
      if (!open) return false;
      open = false;
    }
  }
  return !open;
}
