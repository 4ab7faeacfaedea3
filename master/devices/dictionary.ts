/**
 * Device dictionaries: `{% extends 'TYPE.jinja2' %}` followed by `{% set %}`
 * lines, as LAVA admins write them. Rendering one with a job's context gives the
 * device configuration the dispatcher runs with; this module also checks a
 * dictionary's shape before it is stored.
 */
import { type Diagnostic } from "../../actors/definitions/job_schema.ts";
import { validateDeviceYaml } from "../../actors/definitions/device_schema.ts";
import { type JinjaEnvironment } from "./jinja.ts";
import { checkJobStrings, jobKeysOnLine, jobStrings, withoutFences } from "./job_values.ts";

/** Basalt's own device-type templates, searched after the admin's. */
export const BUILTIN_TEMPLATES = new URL("./templates/", import.meta.url).pathname;

export interface DictionaryProblem {
  readonly line: number;
  readonly message: string;
}

const EXTENDS = /^\s*\{%-?\s*extends\s+(['"])([^'"]+)\1\s*-?%\}\s*$/;

/** The template a dictionary extends (`qemu.jinja2`), which also names its health check. */
export function extendedTemplate(dictionary: string): string | undefined {
  for (const line of dictionary.split(/\r?\n/)) {
    const match = EXTENDS.exec(line);
    if (match) return match[2];
  }
  return undefined;
}

/**
 * Problems with a dictionary's shape: it must extend exactly one template, and
 * otherwise hold only `set` statements and comments (which may span lines).
 */
export function dictionaryProblems(dictionary: string): DictionaryProblem[] {
  const problems: DictionaryProblem[] = [];
  const lines = dictionary.split(/\r?\n/);
  let extendsCount = 0;
  let open: { kind: "tag" | "comment"; line: number } | undefined;
  lines.forEach((text, index) => {
    const line = index + 1;
    let rest = text;
    while (rest.trim() !== "") {
      if (open) {
        const end = rest.indexOf(open.kind === "tag" ? "%}" : "#}");
        if (end < 0) return;
        rest = rest.slice(end + 2);
        open = undefined;
        continue;
      }
      const trimmed = rest.trimStart();
      const tag = /^\{%-?\s*(\w+)/.exec(trimmed);
      if (trimmed.startsWith("{#")) {
        open = { kind: "comment", line };
        rest = trimmed.slice(2);
        continue;
      }
      if (!tag) {
        problems.push({
          line,
          message: `expected only {% extends %} and {% set %} statements, found ${
            JSON.stringify(trimmed.slice(0, 40))
          }`,
        });
        return;
      }
      if (tag[1] === "extends") extendsCount++;
      else if (tag[1] !== "set") {
        problems.push({ line, message: `{% ${tag[1]} %} is not allowed in a device dictionary: use {% set %}` });
      }
      open = { kind: "tag", line };
      rest = trimmed.slice(2);
    }
  });
  if (open) {
    problems.push({ line: open.line, message: `unterminated ${open.kind === "tag" ? "{% %} tag" : "{# #} comment"}` });
  }
  if (extendsCount !== 1) {
    problems.push({
      line: 1,
      message: extendsCount === 0
        ? "a device dictionary must {% extends %} its device-type template"
        : `a device dictionary extends exactly one template; this one has ${extendsCount}`,
    });
  }
  return problems;
}

export interface RenderRequest {
  /** The dictionary's text. */
  readonly dictionary: string;
  /** Shown in errors: the dictionary's file or the device's name. */
  readonly name: string;
  readonly hostname: string;
  readonly deviceType: string;
  /** The job's `context`; the dictionary's own `set`s win over it, as in LAVA. */
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface RenderedDevice {
  readonly yaml: string;
  /** The parsed configuration (undefined when the output is not YAML). */
  readonly config: unknown;
  /** Problems against the device schema, pointing into `yaml`. */
  readonly errors: readonly Diagnostic[];
}

/**
 * Renders a dictionary with a job's context and checks the result against the
 * device schema. Throws {@link TemplateError} when the templates themselves fail,
 * and {@link JobValueError} when a value of the job's context would change the
 * configuration's structure (or holds a control character).
 */
export function renderDevice(env: JinjaEnvironment, request: RenderRequest): RenderedDevice {
  const strings = jobStrings(request.context ?? {});
  const context = {
    ...request.context,
    scheduled_device_name: request.hostname,
    scheduled_device_type: request.deviceType,
  };
  const fenced = env.renderString(request.dictionary, context, request.name, strings);
  const yaml = withoutFences(fenced);
  const file = `${request.name} (rendered)`;
  const key = `${file}\u0000${fenced}`;
  let checked = parsedDevices.get(key);
  if (checked) {
    parsedDevices.delete(key); // re-inserted below: most recently used last
  } else {
    checked = validateDeviceYaml(yaml, file);
    if (checked.config !== undefined) {
      checkJobStrings(fenced, strings, file);
    } else {
      // Not YAML: whose fault it is the caller decides; the job's values on the failing line are named.
      checked = {
        ...checked,
        errors: checked.errors.map((error) => {
          const keys = jobKeysOnLine(fenced, error.line, strings);
          return keys.length === 0
            ? error
            : { ...error, message: `${error.message} (the line prints ${keys.join(", ")})` };
        }),
      };
    }
  }
  parsedDevices.set(key, checked);
  if (parsedDevices.size > PARSED_CACHE_SIZE) parsedDevices.delete(parsedDevices.keys().next().value!);
  // Callers may change what they get; the cached copy stays as parsed.
  return { yaml, config: structuredClone(checked.config), errors: checked.errors };
}

/**
 * Parsing the rendered YAML costs ten times the rendering, and a device renders
 * to the same text for every job with the same context: the parse of recent
 * texts is kept (by exact text, so a changed template or context parses anew).
 */
const PARSED_CACHE_SIZE = 256;
const parsedDevices = new Map<string, ReturnType<typeof validateDeviceYaml>>();
