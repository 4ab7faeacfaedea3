/**
 * What compiled templates run with (jinja2/runtime.py): the template context,
 * the local variables of a render function, output sinks, and Jinja2's own
 * objects a template can hold — macros, loops, block references, `self`,
 * imported modules and namespaces. The globals a template starts with are in
 * globals.ts.
 */
import { JinjaError, typeError } from "./errors.ts";
import { bindArgs } from "./arguments.ts";
import {
  BuiltinFunction,
  type JinjaObject,
  NO_ATTRIBUTE,
  PyCallable,
  pyRepr,
  stringRepr,
  tuple,
  Undefined,
} from "./values.ts";
import { NO_KEY, pyEq } from "./operations.ts";

/** Python's `missing`: a variable that exists in a frame but has no value yet. */
export const MISSING = Symbol("missing");

/** Where rendered text goes. Only text bound for the final output is fenced (see job_values.ts). */
export class Sink {
  readonly parts: string[] = [];

  constructor(readonly fence?: (text: string) => string) {}

  /** Text computed at render time (a printed value, a block's result). */
  write(text: string): void {
    this.parts.push(this.fence && text !== "" ? this.fence(text) : text);
  }

  /** The template's own text. */
  writeData(text: string): void {
    this.parts.push(text);
  }

  text(): string {
    return this.parts.join("");
  }
}

/** The local variables of one render function (root, block, macro), read through to the one it was defined in. */
export class Locals {
  readonly vals = new Map<string, unknown>();

  constructor(readonly closure?: Locals) {}

  get(ref: string): unknown {
    if (this.vals.has(ref)) return this.vals.get(ref);
    return this.closure ? this.closure.get(ref) : MISSING;
  }

  set(ref: string, value: unknown): void {
    this.vals.set(ref, value);
  }
}

/** A template as the runtime needs it: its name, root function and blocks. */
export interface RuntimeTemplate {
  readonly name: string;
  readonly blocks: ReadonlyMap<string, BlockFunction>;
  root(context: Context, sink: Sink): void;
}

/** What every render in one top-level render shares. */
export interface RenderState {
  /** Fences runtime text on its way to the final output. */
  readonly fence?: (text: string) => string;
  /** Nesting of includes, imports, extends and macro calls, to fail as Python's recursion limit does. */
  depth: number;
  /** Loop iterations and calls still allowed in this render (see {@link MAX_STEPS}). */
  steps: number;
  loadTemplate(name: unknown, parent: string): RuntimeTemplate;
  selectTemplate(names: unknown, parent: string): RuntimeTemplate;
  readonly globals: ReadonlyMap<string, unknown>;
}

const MAX_DEPTH = 200;

/**
 * Loop iterations and macro, block and include calls one render may make. Renders
 * run in the master's event loop: a template looping over a job's values inside
 * another such loop must fail, not stop the lab. Real device templates make a few
 * hundred.
 */
export const MAX_STEPS = 1_000_000;

export function enter(state: RenderState): void {
  spend(state);
  if (++state.depth > MAX_DEPTH) {
    state.depth = 0;
    throw new JinjaError("RecursionError", "maximum recursion depth exceeded");
  }
}

export function spend(state: RenderState): void {
  if (--state.steps < 0) {
    throw new JinjaError(
      "TemplateRuntimeError",
      `the template made more than ${MAX_STEPS} loop iterations and calls in one render`,
    );
  }
}

export class BlockFunction {
  constructor(
    readonly name: string,
    readonly template: string,
    readonly run: (context: Context, sink: Sink) => void,
  ) {}
}

/** Jinja2's Context: the variables passed in (`parent`) and those the template's top level sets (`vars`). */
export class Context {
  readonly vars = new Map<string, unknown>();
  readonly exported = new Set<string>();
  readonly blocks = new Map<string, BlockFunction[]>();

  constructor(
    readonly state: RenderState,
    readonly parent: Map<string, unknown>,
    readonly name: string,
    blocks: ReadonlyMap<string, BlockFunction>,
  ) {
    for (const [name, block] of blocks) this.blocks.set(name, [block]);
  }

  resolveOrMissing(key: string): unknown {
    if (this.vars.has(key)) return this.vars.get(key);
    if (this.parent.has(key)) return this.parent.get(key);
    return MISSING;
  }

  getAll(): Map<string, unknown> {
    if (this.vars.size === 0) return this.parent;
    if (this.parent.size === 0) return this.vars;
    return new Map([...this.parent, ...this.vars]);
  }

  exports(): Map<string, unknown> {
    return new Map([...this.exported].map((k) => [k, this.vars.get(k)]));
  }

  /** A context of its own for the same template (a scoped block), with the given locals. */
  derived(locals?: Map<string, unknown>): Context {
    const context = newContext(this.state, this.name, new Map(), this.getAll(), true, locals);
    for (const [name, blocks] of this.blocks) context.blocks.set(name, [...blocks]);
    return context;
  }

  super(name: string, current: BlockFunction): BlockReference | Undefined {
    const blocks = this.blocks.get(name) ?? [];
    const index = blocks.indexOf(current) + 1;
    if (index === 0 || index >= blocks.length) {
      return new Undefined(`there is no parent block called '${name}'.`, "super");
    }
    return new BlockReference(name, this, blocks, index);
  }
}

/** jinja2.runtime.new_context. */
export function newContext(
  state: RenderState,
  name: string,
  blocks: ReadonlyMap<string, BlockFunction>,
  vars: Map<string, unknown> | null,
  shared: boolean,
  locals?: Map<string, unknown>,
): Context {
  let parent = vars ?? new Map<string, unknown>();
  if (!shared) parent = new Map([...state.globals, ...parent]);
  if (locals && locals.size) {
    if (shared) parent = new Map(parent);
    for (const [key, value] of locals) if (value !== MISSING) parent.set(key, value);
  }
  return new Context(state, parent, name, blocks);
}

/** `self`: the template's blocks by name. */
export class TemplateReference implements JinjaObject {
  constructor(readonly context: Context) {}

  attribute(): unknown {
    return NO_ATTRIBUTE;
  }

  item(key: unknown): unknown {
    const blocks = typeof key === "string" ? this.context.blocks.get(key) : undefined;
    return blocks ? new BlockReference(key as string, this.context, blocks, 0) : NO_KEY;
  }

  repr(): string {
    return `<TemplateReference ${stringRepr(this.context.name)}>`;
  }
}

/** `self.NAME` and `super()`: a block that renders when called. */
export class BlockReference extends PyCallable implements JinjaObject {
  readonly pyName: string;

  constructor(
    readonly name: string,
    readonly context: Context,
    readonly stack: BlockFunction[],
    readonly depth: number,
  ) {
    super();
    this.pyName = name;
  }

  attribute(name: string): unknown {
    if (name === "name") return this.name;
    if (name !== "super") return NO_ATTRIBUTE;
    if (this.depth + 1 >= this.stack.length) {
      return new Undefined(`there is no parent block called '${this.name}'.`, "super");
    }
    return new BlockReference(this.name, this.context, this.stack, this.depth + 1);
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    bindArgs("__call__", [], args, kwargs);
    const sink = new Sink();
    enter(this.context.state);
    try {
      this.stack[this.depth].run(this.context, sink);
    } finally {
      this.context.state.depth--;
    }
    return sink.text();
  }

  override repr(): string {
    return `<BlockReference ${stringRepr(this.name)}>`;
  }
}

/** A `{% macro %}` or the `caller` of a `{% call %}` block. */
export class Macro extends PyCallable implements JinjaObject {
  readonly pyName: string;

  constructor(
    readonly state: RenderState,
    readonly macroName: string | null,
    readonly argNames: readonly string[],
    readonly catchKwargs: boolean,
    readonly catchVarargs: boolean,
    readonly caller: boolean,
    readonly body: (args: unknown[]) => string,
  ) {
    super();
    this.pyName = macroName ?? "caller";
  }

  attribute(name: string): unknown {
    switch (name) {
      case "name":
        return this.macroName;
      case "arguments":
        return tuple([...this.argNames]);
      case "catch_kwargs":
        return this.catchKwargs;
      case "catch_varargs":
        return this.catchVarargs;
      case "caller":
        return this.caller;
    }
    return NO_ATTRIBUTE;
  }

  /** jinja2.runtime.Macro.__call__: positional, then keyword arguments, then caller, kwargs, varargs. */
  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    const rest = new Map(kwargs);
    const count = this.argNames.length;
    const argumentsOut: unknown[] = args.slice(0, count);
    let foundCaller = false;
    if (argumentsOut.length !== count) {
      for (const name of this.argNames.slice(argumentsOut.length)) {
        let value: unknown = MISSING;
        if (rest.has(name)) {
          value = rest.get(name);
          rest.delete(name);
        }
        if (name === "caller") foundCaller = true;
        argumentsOut.push(value);
      }
    } else {
      foundCaller = this.argNames.includes("caller");
    }
    if (this.caller && !foundCaller) {
      let caller = rest.get("caller");
      rest.delete("caller");
      if (caller === undefined || caller === null) caller = new Undefined("No caller defined", "caller");
      argumentsOut.push(caller);
    }
    if (this.catchKwargs) argumentsOut.push(new Map(rest));
    else if (rest.size) {
      if (rest.has("caller")) {
        throw typeError(
          `macro ${
            stringRepr(this.pyName)
          } was invoked with two values for the special caller argument. This is most likely a bug.`,
        );
      }
      throw typeError(`macro ${stringRepr(this.pyName)} takes no keyword argument ${stringRepr([...rest.keys()][0])}`);
    }
    if (this.catchVarargs) argumentsOut.push(tuple(args.slice(count)));
    else if (args.length > count) {
      throw typeError(`macro ${stringRepr(this.pyName)} takes not more than ${count} argument(s)`);
    }
    enter(this.state);
    try {
      return this.body(argumentsOut);
    } finally {
      this.state.depth--;
    }
  }

  override repr(): string {
    return `<Macro ${this.macroName === null ? "anonymous" : stringRepr(this.macroName)}>`;
  }
}

/** The `loop` variable of a for loop. */
export class LoopContext extends PyCallable implements JinjaObject {
  readonly pyName = "loop";
  index0 = -1;
  #lastChanged: unknown[] | typeof MISSING = MISSING;

  constructor(
    readonly items: readonly unknown[],
    readonly depth0: number,
    readonly recurse?: (items: unknown, depth: number) => string,
  ) {
    super();
  }

  attribute(name: string): unknown {
    const length = this.items.length;
    switch (name) {
      case "length":
        return length;
      case "depth":
        return this.depth0 + 1;
      case "depth0":
        return this.depth0;
      case "index":
        return this.index0 + 1;
      case "index0":
        return this.index0;
      case "revindex":
        return length - this.index0;
      case "revindex0":
        return length - this.index0 - 1;
      case "first":
        return this.index0 === 0;
      case "last":
        return this.index0 + 1 >= length;
      case "previtem":
        return this.index0 === 0 ? new Undefined("there is no previous item") : this.items[this.index0 - 1];
      case "nextitem":
        return this.index0 + 1 >= length ? new Undefined("there is no next item") : this.items[this.index0 + 1];
      case "cycle":
        return new BuiltinFunction("cycle", (args, kwargs) => {
          bindArgs("cycle", ["*args"], args, kwargs);
          if (args.length === 0) throw typeError("no items for cycling given");
          return args[this.index0 % args.length];
        });
      case "changed":
        return new BuiltinFunction("changed", (args, kwargs) => {
          bindArgs("changed", ["*value"], args, kwargs);
          const last = this.#lastChanged;
          if (last === MISSING || last.length !== args.length || !last.every((v, i) => pyEq(v, args[i]))) {
            this.#lastChanged = args;
            return true;
          }
          return false;
        });
    }
    return NO_ATTRIBUTE;
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    const { iterable } = bindArgs("loop", ["iterable"], args, kwargs);
    if (!this.recurse) throw typeError("The loop must have the 'recursive' marker to be called recursively.");
    return this.recurse(iterable, this.depth0 + 1);
  }

  override repr(): string {
    return `<LoopContext ${this.index0 + 1}/${this.items.length}>`;
  }
}

/** An `{% import %}`ed template: its exported variables and macros, and its output as its text. */
export class TemplateModule implements JinjaObject {
  constructor(readonly name: string, readonly exports: Map<string, unknown>, readonly body: string) {}

  attribute(name: string): unknown {
    return this.exports.has(name) ? this.exports.get(name) : NO_ATTRIBUTE;
  }

  repr(): string {
    return `<TemplateModule ${stringRepr(this.name)}>`;
  }

  str(): string {
    return this.body;
  }
}

/** `namespace(...)`: the one object whose attributes `{% set ns.x = ... %}` may change. */
export class Namespace implements JinjaObject {
  constructor(readonly attrs: Map<unknown, unknown>) {}

  attribute(name: string): unknown {
    return this.attrs.has(name) ? this.attrs.get(name) : NO_ATTRIBUTE;
  }

  repr(): string {
    return `<Namespace ${pyRepr(this.attrs)}>`;
  }
}
