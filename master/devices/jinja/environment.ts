/**
 * A Jinja2 environment as LAVA 2023.01 builds one for device dictionaries
 * (lava_scheduler_app/environment.py): a SandboxedEnvironment with a
 * FileSystemLoader over the given directories, autoescape off, trim_blocks on,
 * every template kept once compiled (and compiled anew when its file changes, as
 * Jinja2's auto_reload does).
 */
import { join } from "../../../actors/path.ts";
import { JinjaError } from "./errors.ts";
import { builtinFiltersAndTests } from "./test_table.ts";
import { type FilterFunction, type TestFunction } from "./filters.ts";
import { type CompiledTemplate, compileTemplate } from "./compiler.ts";
import { tokenize } from "./lexer.ts";
import { Parser } from "./parser.ts";
import { defaultGlobals } from "./globals.ts";
import { MAX_STEPS, newContext, type RenderState, Sink } from "./runtime.ts";
import { fromJs, pyRepr, pyStr, Undefined } from "./values.ts";
import { iterate } from "./operations.ts";

interface Cached {
  readonly template: CompiledTemplate;
  readonly path: string;
  readonly mtime: number | null;
}

/** Dictionaries given as text are compiled once per text: a lab renders the same ones again and again. */
const STRING_CACHE_SIZE = 1024;

export class Environment {
  readonly filters: Map<string, FilterFunction>;
  readonly tests: Map<string, TestFunction>;
  readonly globals = defaultGlobals();
  readonly #files = new Map<string, Cached>();
  readonly #strings = new Map<string, CompiledTemplate>();

  constructor(readonly searchPaths: readonly string[]) {
    const { filters, tests } = builtinFiltersAndTests();
    this.filters = filters;
    this.tests = tests;
  }

  /** The template `name` from the search path (jinja2's get_template). */
  getTemplate(name: unknown): CompiledTemplate {
    if (name instanceof Undefined) name.fail();
    if (typeof name !== "string") {
      throw new JinjaError("AttributeError", `'${pyRepr(name)}' is not a template name`);
    }
    const pieces: string[] = [];
    for (const piece of name.split("/")) {
      if (piece === "..") throw new JinjaError("TemplateNotFound", name);
      if (piece && piece !== ".") pieces.push(piece);
    }
    const cached = this.#files.get(name);
    if (cached && cached.mtime !== null && mtimeOf(cached.path) === cached.mtime) return cached.template;
    for (const dir of this.searchPaths) {
      const path = join(dir, ...pieces);
      let source: string;
      try {
        if (!Deno.statSync(path).isFile) continue;
        source = Deno.readTextFileSync(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) continue;
        throw error;
      }
      const template = this.compile(source, name, path);
      this.#files.set(name, { template, path, mtime: mtimeOf(path) });
      return template;
    }
    throw new JinjaError("TemplateNotFound", name);
  }

  /** The first of `names` that exists, or the one template named (jinja2's get_or_select_template). */
  selectTemplate(names: unknown): CompiledTemplate {
    if (typeof names === "string" || names instanceof Undefined) return this.getTemplate(names);
    if (!Array.isArray(names)) return this.getTemplate(names);
    for (const name of iterate(names)) {
      try {
        return this.getTemplate(name);
      } catch (error) {
        if (!(error instanceof JinjaError && error.kind === "TemplateNotFound")) throw error;
      }
    }
    throw new JinjaError(
      "TemplatesNotFound",
      `none of the templates given were found: ${iterate(names).map(pyStr).join(", ")}`,
    );
  }

  /** Template text that is not a file: a dictionary sent through the API, a test's snippet. */
  fromString(source: string, name: string): CompiledTemplate {
    const key = `${name}\u0000${source}`;
    let template = this.#strings.get(key);
    if (template) {
      this.#strings.delete(key); // re-inserted: most recently used last
    } else {
      template = this.compile(source, name, name);
    }
    this.#strings.set(key, template);
    if (this.#strings.size > STRING_CACHE_SIZE) this.#strings.delete(this.#strings.keys().next().value!);
    return template;
  }

  compile(source: string, name: string, label: string): CompiledTemplate {
    const tokens = tokenize(source, label);
    const tree = new Parser(tokens, label).parse();
    return compileTemplate(tree, name, this, label);
  }

  /**
   * Renders a template with a job's context (JSON-like values). `fence`, when
   * given, is applied to every runtime-computed text bound for the output.
   */
  render(template: CompiledTemplate, vars: Record<string, unknown>, fence?: (text: string) => string): string {
    const state: RenderState = {
      fence,
      depth: 0,
      steps: MAX_STEPS,
      globals: this.globals,
      loadTemplate: (name) => this.getTemplate(name),
      selectTemplate: (names) => this.selectTemplate(names),
    };
    const parent = new Map<string, unknown>(Object.entries(vars).map(([k, v]) => [k, fromJs(v)]));
    const context = newContext(state, template.name, template.blocks, parent, false);
    const sink = new Sink(fence);
    template.root(context, sink);
    return sink.text();
  }
}

function mtimeOf(path: string): number | null {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}
