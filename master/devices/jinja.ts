/**
 * Device dictionaries and device-type templates, rendered as LAVA 2023.01 renders
 * them: Jinja2 3.1 in a SandboxedEnvironment with autoescape off and trim_blocks
 * on (lava_scheduler_app/environment.py), re-implemented in `jinja/` rather than
 * approximated, so that admins' templates — tuned against what Jinja2 really does —
 * give the same YAML:
 *
 * - the whole expression and statement grammar (adjacent string literals,
 *   trailing commas, tests without parentheses, `{% call %}`, `{% filter %}`, ...),
 *   parsed as jinja2/parser.py parses it (`jinja/lexer.ts`, `jinja/parser.ts`);
 * - scoping as Jinja2 compiles it (`jinja/symbols.ts` is a port of its symbol
 *   tracking): a `{% set %}` inside a block is not seen by a block nested in it
 *   unless that block is `scoped`, nor after a loop body, and a child template's
 *   top level runs before its parent's;
 * - Python's values (`jinja/values.ts`): `str()`/`repr()` printing (`True`,
 *   `None`, `['a', 'b']`, `Undefined` inside a list), truth, `+`, `%`, `in`,
 *   comparisons, str/list/dict methods, Undefined that fails on any use but
 *   printing, testing and iterating;
 * - Jinja2's filters and tests (`jinja/filters.ts`) and globals.
 *
 * `tests/template_corpus_test.ts` compares every template Debian's lava-server
 * 2023.01 ships, rendered here and by Python's Jinja2.
 *
 * The environment also has the three filters later LAVA versions add
 * (lava_common/jinja.py): `shlex_quote`, `yaml_quote` and
 * `qemu_guest_fs_interface`, used by current LAVA's templates and Basalt's own;
 * no LAVA 2023.01 template uses them.
 *
 * Templates come from the lab's admins; job submitters only supply values (the
 * job `context`). The sandbox is Jinja2's: a template reaches only the methods of
 * str, list and dict and Jinja2's own objects, never an attribute starting with
 * `_`, never JavaScript's `constructor` or prototypes. Every runtime-computed text
 * bound for the output is fenced (job_values.ts) so that a job's value cannot
 * change the rendered YAML's structure.
 */
import { Environment } from "./jinja/environment.ts";
import { JinjaError } from "./jinja/errors.ts";
import { bindArgs } from "./jinja/arguments.ts";
import { floatRepr, isTuple, PyFloat, pyRepr, pyStr } from "./jinja/values.ts";
import { sortValues } from "./jinja/collection_methods.ts";
import { truthy } from "./jinja/operations.ts";
import { fenceJobStrings, type JobStrings } from "./job_values.ts";

/** Python's `repr()` of a value as a template holds it. */
export const pythonRepr = pyRepr;
/** Python's `str()`. */
export const pythonStr = pyStr;

/** Python's `shlex.quote`, as LAVA's `shlex_quote` filter. */
export function shlexQuote(value: unknown): string {
  if (!truthy(value)) return "''";
  if (typeof value !== "string") throw new JinjaError("TypeError", "expected string or bytes-like object");
  if (!/[^\w@%+=:,./-]/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/**
 * LAVA's `yaml_quote` filter (lava_common/yaml.py): the value as one line of YAML
 * in double-quoted style, as libyaml's SafeDumper writes it — non-ASCII and control
 * characters escaped, keys sorted, other scalars tagged `! "..."`.
 */
export function yamlQuote(value: unknown): string {
  if (typeof value === "string") return yamlDoubleQuoted(value);
  if (typeof value === "boolean") return `! "${value}"`;
  if (value === null) return '! "null"';
  if (typeof value === "number") return `! "${value}"`;
  if (value instanceof PyFloat) return `! "${pyyamlFloat(value.value)}"`;
  if (Array.isArray(value) && !isTuple(value)) return `[${value.map(yamlQuote).join(", ")}]`;
  if (value instanceof Map) {
    const keys = sortValues([...value.keys()], (k) => k, false);
    return `{${keys.map((k) => `${yamlQuote(k)}: ${yamlQuote(value.get(k))}`).join(", ")}}`;
  }
  throw new JinjaError("RepresenterError", `('cannot represent an object', ${pythonRepr(value)})`);
}

const YAML_ESCAPES: Record<number, string> = {
  0x00: "0",
  0x07: "a",
  0x08: "b",
  0x09: "t",
  0x0a: "n",
  0x0b: "v",
  0x0c: "f",
  0x0d: "r",
  0x1b: "e",
  0x22: '"',
  0x5c: "\\",
  0x85: "N",
  0xa0: "_",
  0x2028: "L",
  0x2029: "P",
};

function yamlDoubleQuoted(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e && ch !== '"' && ch !== "\\") {
      out += ch;
    } else if (code in YAML_ESCAPES) {
      out += `\\${YAML_ESCAPES[code]}`;
    } else {
      const hex = code.toString(16).toUpperCase();
      out += code <= 0xff
        ? `\\x${hex.padStart(2, "0")}`
        : code <= 0xffff
        ? `\\u${hex.padStart(4, "0")}`
        : `\\U${hex.padStart(8, "0")}`;
    }
  }
  return out + '"';
}

/** PyYAML's representation of a float: repr(), lower case, with `.0` before a bare exponent. */
function pyyamlFloat(value: number): string {
  if (Number.isNaN(value)) return ".nan";
  if (!Number.isFinite(value)) return value > 0 ? ".inf" : "-.inf";
  const text = floatRepr(value).toLowerCase();
  return !text.includes(".") && text.includes("e") ? text.replace("e", ".0e") : text;
}

/** The architectures whose QEMU machines have an IDE controller (lava_common/constants.py X86_ARCHS). */
const X86_ARCHS = ["amd64", "x86_64", "i386"];

/** LAVA's `qemu_guest_fs_interface` filter: the given interface, else `ide` on x86 and `virtio` elsewhere. */
export function qemuGuestFsInterface(arch: unknown, given: unknown): unknown {
  if (truthy(given)) return given;
  return X86_ARCHS.some((x) => x === arch) ? "ide" : "virtio";
}

/** A template that failed to load, parse or render: `file:line: what`. */
export class TemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TemplateError";
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
  const env = new Environment(searchPaths);
  env.filters.set("shlex_quote", (value, args, kwargs) => {
    bindArgs("quote", [], args, kwargs);
    return shlexQuote(value);
  });
  env.filters.set("yaml_quote", (value, args, kwargs) => {
    bindArgs("yaml_quote", [], args, kwargs);
    return yamlQuote(value);
  });
  env.filters.set("qemu_guest_fs_interface", (value, args, kwargs) => {
    const { guestfs_interface } = bindArgs("qemu_guest_fs_interface", ["guestfs_interface"], args, kwargs);
    return qemuGuestFsInterface(value, guestfs_interface);
  });
  const wrap = (fn: () => string) => {
    try {
      return fn();
    } catch (error) {
      throw new TemplateError(templateErrorText(error), { cause: error });
    }
  };
  return {
    render: (name, context) => wrap(() => env.render(env.getTemplate(name), context)),
    renderString: (source, context, name = "(string)", jobStrings) =>
      wrap(() => {
        const fence = jobStrings && jobStrings.texts.length > 0
          ? (text: string) => fenceJobStrings(text, jobStrings)
          : undefined;
        return env.render(env.fromString(source, name), context, fence);
      }),
  };
}

function templateErrorText(error: unknown): string {
  if (!(error instanceof JinjaError)) return error instanceof Error ? error.message : String(error);
  const where = error.template === undefined ? "" : `${error.template}${error.lineno ? `:${error.lineno}` : ""}: `;
  const syntax = error.kind === "TemplateSyntaxError" || error.kind === "TemplateAssertionError";
  return `${where}${syntax ? "" : `${error.kind}: `}${error.message}`;
}
