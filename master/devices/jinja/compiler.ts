/**
 * Turns a template's syntax tree into JavaScript closures that do what the Python
 * code Jinja2's code generator (jinja2/compiler.py) writes would do, node for
 * node: the same frames (with symbols.ts deciding each name's scope), the same
 * order of evaluation, the same inheritance (a child's top level runs first, then
 * its parent's root with the same context; output outside blocks of a child is
 * dropped), blocks rendered from `context.blocks`, includes with the includer's
 * variables, imports without them, macros with Python's argument rules.
 *
 * This module holds the code generator, frames and statements; expressions are in
 * compile_expressions.ts, loops, conditions and macros in compile_control.ts, and
 * extends, blocks, includes and imports in compile_templates.ts.
 */
import { JinjaError, valueError } from "./errors.ts";
import type { FilterFunction, TestFunction } from "./filters.ts";
import * as N from "./nodes.ts";
import {
  BlockFunction,
  Context,
  enter,
  Locals,
  MISSING,
  Namespace,
  newContext,
  type RenderState,
  type RuntimeTemplate,
  Sink,
  TemplateModule,
  TemplateReference,
} from "./runtime.ts";
import { findUndeclared, Symbols } from "./symbols.ts";
import { visitExpr, visitFilter } from "./compile_expressions.ts";
import { iterate, truthy } from "./operations.ts";
import { pyStr } from "./values.ts";
import { visitCallBlock, visitFilterBlock, visitFor, visitIf, visitMacro, visitWith } from "./compile_control.ts";
import { visitBlock, visitExtends, visitFromImport, visitImport, visitInclude } from "./compile_templates.ts";

/** One call of a render function (a template's root, a block, a macro body, a recursive loop). */
export interface Rt {
  readonly locals: Locals;
  readonly context: Context;
  sink: Sink;
  /** The root function's `parent_template`: set once the template has extended another. */
  readonly root: { parent: RuntimeTemplate | null };
}

export type Exec = (rt: Rt) => void;
export type Eval = (rt: Rt) => unknown;

/** What compiling needs from the environment. */
export interface CompileEnvironment {
  readonly filters: ReadonlyMap<string, FilterFunction>;
  readonly tests: ReadonlyMap<string, TestFunction>;
}

export class Frame {
  symbols: Symbols;
  requireOutputCheck = false;
  toplevel = false;
  rootlevel = false;
  loopFrame = false;
  blockFrame = false;
  softFrame = false;

  constructor(readonly parent: Frame | null = null) {
    this.symbols = new Symbols(parent?.symbols ?? null);
    if (parent) this.requireOutputCheck = parent.requireOutputCheck;
  }

  inner(): Frame {
    return new Frame(this);
  }

  soft(): Frame {
    const copy = Object.assign(Object.create(Frame.prototype), this) as Frame;
    copy.symbols = this.symbols.copy();
    copy.rootlevel = false;
    copy.softFrame = true;
    return copy;
  }
}

/** Stops compiling the rest of a body, as jinja2's CompilerExit (after a second top-level extends). */
export class CompilerExit {
  constructor(readonly exec: Exec) {}
}

export interface CompiledTemplate extends RuntimeTemplate {
  readonly name: string;
}

/** Compiles a parsed template named `name`; errors name it as `label` (its file, when it has one). */
export function compileTemplate(
  template: N.Template,
  name: string,
  env: CompileEnvironment,
  label = name,
): CompiledTemplate {
  return new CodeGenerator(name, label, env).compile(template);
}

export class CodeGenerator {
  hasKnownExtends = false;
  extendsSoFar = 0;
  readonly #blocks = new Map<string, N.Block>();

  constructor(readonly name: string, readonly label: string, readonly env: CompileEnvironment) {}

  fail(message: string, lineno: number, kind = "TemplateAssertionError"): never {
    throw new JinjaError(kind, message, { name: this.label, lineno });
  }

  compile(node: N.Template): CompiledTemplate {
    const haveExtends = N.findAll(node, "Extends").length > 0;
    for (const block of N.findAll(node, "Block")) {
      if (this.#blocks.has(block.name)) this.fail(`block '${block.name}' defined twice`, block.lineno);
      this.#blocks.set(block.name, block);
    }
    const frame = new Frame();
    const selfRef = findUndeclared(node.body, ["self"]).has("self") ? frame.symbols.declareParameter("self") : null;
    frame.symbols.analyzeNode(node);
    frame.toplevel = frame.rootlevel = true;
    frame.requireOutputCheck = haveExtends && !this.hasKnownExtends;
    const enterRoot = this.enterFrame(frame);
    const body = this.blockvisit(node.body, frame);

    const blocks = new Map<string, BlockFunction>();
    for (const [blockName, block] of this.#blocks) blocks.set(blockName, this.compileBlock(block));

    const name = this.name;
    return {
      name,
      blocks,
      root(context: Context, sink: Sink): void {
        const rt: Rt = { locals: new Locals(), context, sink, root: { parent: null } };
        if (selfRef) rt.locals.set(selfRef, new TemplateReference(context));
        enterRoot(rt);
        body(rt);
        if (haveExtends && rt.root.parent) {
          enter(context.state);
          try {
            rt.root.parent.root(context, sink);
          } finally {
            context.state.depth--;
          }
        }
      },
    };
  }

  compileBlock(block: N.Block): BlockFunction {
    const frame = new Frame();
    frame.blockFrame = true;
    const undeclared = findUndeclared(block.body, ["self", "super"]);
    const selfRef = undeclared.has("self") ? frame.symbols.declareParameter("self") : null;
    const superRef = undeclared.has("super") ? frame.symbols.declareParameter("super") : null;
    frame.symbols.analyzeNode(block);
    const enterBlock = this.enterFrame(frame);
    const body = this.blockvisit(block.body, frame);
    const fn: BlockFunction = new BlockFunction(block.name, this.name, (context, sink) => {
      const rt: Rt = { locals: new Locals(), context, sink, root: { parent: null } };
      if (selfRef) rt.locals.set(selfRef, new TemplateReference(context));
      if (superRef) rt.locals.set(superRef, context.super(block.name, fn));
      enterBlock(rt);
      body(rt);
    });
    return fn;
  }

  // --- frames ------------------------------------------------------------------

  /** What entering a frame does: each variable loaded as the symbols decided. */
  enterFrame(frame: Frame): Exec {
    const steps: Exec[] = [];
    for (const [target, [action, param]] of frame.symbols.loads) {
      if (action === "resolve") steps.push((rt) => rt.locals.set(target, rt.context.resolveOrMissing(param)));
      else if (action === "alias") steps.push((rt) => rt.locals.set(target, rt.locals.get(param)));
      else if (action === "undefined") steps.push((rt) => rt.locals.set(target, MISSING));
    }
    return (rt) => {
      for (const step of steps) step(rt);
    };
  }

  leaveFrame(frame: Frame): Exec {
    const targets = [...frame.symbols.loads.keys()];
    return (rt) => {
      for (const target of targets) rt.locals.set(target, MISSING);
    };
  }

  blockvisit(nodes: readonly N.Stmt[], frame: Frame): Exec {
    const execs: Exec[] = [];
    for (const node of nodes) {
      try {
        execs.push(this.located(node.lineno, this.visitStmt(node, frame)));
      } catch (error) {
        if (!(error instanceof CompilerExit)) throw error;
        execs.push(error.exec);
        break;
      }
    }
    if (execs.length === 1) return execs[0];
    return (rt) => {
      for (const exec of execs) exec(rt);
    };
  }

  /** Errors raised at run time name this template and line unless a deeper place is known. */
  located(lineno: number, exec: Exec): Exec {
    const name = this.label;
    return (rt) => {
      try {
        exec(rt);
      } catch (error) {
        if (error instanceof JinjaError) error.locate(name, lineno);
        else if (error instanceof RangeError) {
          // JavaScript's limits, met where Python meets its own.
          const kind = /call stack/.test(error.message) ? "RecursionError" : "MemoryError";
          throw new JinjaError(kind, error.message, { name, lineno });
        }
        throw error;
      }
    };
  }

  /** The values of every variable the frame and its parents store (for scoped blocks and includes). */
  localContext(frame: Frame): (rt: Rt) => Map<string, unknown> {
    const stores = [...frame.symbols.dumpStores()];
    return (rt) => new Map(stores.map(([name, ref]) => [name, rt.locals.get(ref)]));
  }

  // --- statements -----------------------------------------------------------------

  visitStmt(node: N.Stmt, frame: Frame): Exec {
    switch (node.type) {
      case "Output":
        return this.visitOutput(node, frame);
      case "Extends":
        return visitExtends(this, node, frame);
      case "Block":
        return visitBlock(this, node, frame);
      case "Include":
        return visitInclude(this, node, frame);
      case "Import":
        return visitImport(this, node, frame);
      case "FromImport":
        return visitFromImport(this, node, frame);
      case "For":
        return visitFor(this, node, frame);
      case "If":
        return visitIf(this, node, frame);
      case "Macro":
        return visitMacro(this, node, frame);
      case "CallBlock":
        return visitCallBlock(this, node, frame);
      case "FilterBlock":
        return visitFilterBlock(this, node, frame);
      case "With":
        return visitWith(this, node, frame);
      case "Assign":
        return this.visitAssign(node, frame);
      case "AssignBlock":
        return this.visitAssignBlock(node, frame);
      case "Scope":
        return this.visitScope(node, frame);
    }
  }

  visitOutput(node: N.Output, frame: Frame): Exec {
    let check = false;
    if (frame.requireOutputCheck) {
      // After a top-level extends nothing outside blocks is printed, nor even evaluated.
      if (this.hasKnownExtends) return () => {};
      check = true;
    }
    const parts = node.nodes.map((child): Exec => {
      if (child.type === "TemplateData") {
        const data = child.data;
        return (rt) => rt.sink.writeData(data);
      }
      const value = visitExpr(this, child, frame);
      return (rt) => rt.sink.write(pyStr(value(rt)));
    });
    return (rt) => {
      if (check && rt.root.parent) return;
      for (const part of parts) part(rt);
    };
  }

  visitAssign(node: N.Assign, frame: Frame): Exec {
    const guard = this.namespaceGuard(node.target, frame);
    const assign = this.assignTarget(node.target, frame);
    const value = visitExpr(this, node.node, frame);
    const exportTo = this.assignTracking(node.target, frame);
    return (rt) => {
      guard(rt);
      assign(rt, value(rt));
      exportTo(rt);
    };
  }

  visitAssignBlock(node: N.AssignBlock, frame: Frame): Exec {
    const blockFrame = frame.inner();
    blockFrame.requireOutputCheck = false;
    blockFrame.symbols.analyzeNode(node);
    const enterBlock = this.enterFrame(blockFrame);
    const body = this.blockvisit(node.body, blockFrame);
    const guard = this.namespaceGuard(node.target, frame);
    const assign = this.assignTarget(node.target, frame);
    const filter = node.filter ? visitFilter(this, node.filter, blockFrame) : null;
    const exportTo = this.assignTracking(node.target, frame);
    const leave = this.leaveFrame(blockFrame);
    return (rt) => {
      enterBlock(rt);
      const text = captured(rt, body);
      guard(rt);
      assign(rt, filter ? filter(rt, text) : text);
      exportTo(rt);
      leave(rt);
    };
  }

  /** `{% set ns.attr = ... %}` checks `ns` is a namespace before the value is computed, as Jinja2 does. */
  namespaceGuard(target: N.Expr, frame: Frame): Exec {
    if (target.type !== "NSRef") return () => {};
    const ref = frame.symbols.ref(target.name);
    return (rt) => {
      if (!(rt.locals.get(ref) instanceof Namespace)) {
        throw new JinjaError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
      }
    };
  }

  visitScope(node: N.Scope, frame: Frame): Exec {
    const scopeFrame = frame.inner();
    scopeFrame.symbols.analyzeNode(node);
    const enterScope = this.enterFrame(scopeFrame);
    const autoescape = node.autoescape ? visitExpr(this, node.autoescape, scopeFrame) : null;
    const body = this.blockvisit(node.body, scopeFrame);
    const leave = this.leaveFrame(scopeFrame);
    return (rt) => {
      enterScope(rt);
      if (autoescape && truthy(autoescape(rt))) {
        throw new JinjaError(
          "TemplateRuntimeError",
          "{% autoescape true %} is not supported: device templates render YAML, not HTML",
        );
      }
      body(rt);
      leave(rt);
    };
  }

  /** Names a top-level `set` makes template variables (and exports, unless they start with `_`). */
  assignTracking(target: N.Expr, frame: Frame): Exec {
    if (!frame.toplevel) return () => {};
    const names = [...new Set(storedNames(target))];
    if (names.length === 0) return () => {};
    const refs = names.map((name) => frame.symbols.ref(name));
    return (rt) => {
      names.forEach((name, i) => {
        rt.context.vars.set(name, rt.locals.get(refs[i]));
        if (!name.startsWith("_")) rt.context.exported.add(name);
      });
    };
  }

  /** Stores a value into an assignment target: a name, a tuple to unpack, or a namespace attribute. */
  assignTarget(target: N.Expr, frame: Frame): (rt: Rt, value: unknown) => void {
    if (target.type === "Name") {
      const ref = frame.symbols.ref(target.name);
      return (rt, value) => rt.locals.set(ref, value);
    }
    if (target.type === "NSRef") {
      const ref = frame.symbols.ref(target.name);
      const attr = target.attr;
      return (rt, value) => (rt.locals.get(ref) as Namespace).attrs.set(attr, value);
    }
    if (target.type === "Tuple") {
      const items = target.items.map((item) => this.assignTarget(item, frame));
      return (rt, value) => {
        const values = iterate(value);
        if (values.length > items.length) throw valueError(`too many values to unpack (expected ${items.length})`);
        if (values.length < items.length) {
          throw valueError(`not enough values to unpack (expected ${items.length}, got ${values.length})`);
        }
        items.forEach((assign, i) => assign(rt, values[i]));
      };
    }
    this.fail(`can't assign to '${target.type.toLowerCase()}'`, target.lineno, "TemplateSyntaxError");
  }
}

/** Runs a body into a buffer of its own (a set block, a filter block) and gives its text. */
export function captured(rt: Rt, body: Exec): string {
  const outer = rt.sink;
  const buffer = new Sink();
  rt.sink = buffer;
  try {
    body(rt);
  } finally {
    rt.sink = outer;
  }
  return buffer.text();
}

/** The names an assignment target stores, in order. */
function storedNames(target: N.Expr): string[] {
  if (target.type === "Name") return target.ctx === "store" ? [target.name] : [];
  if (target.type === "Tuple") return target.items.flatMap(storedNames);
  return [];
}

/** A loop target read back as a value (the loop filter yields it). */
export function targetAsLoad(target: N.Expr): N.Expr {
  if (target.type === "Name") return { ...target, ctx: "load" };
  if (target.type === "Tuple") return { ...target, ctx: "load", items: target.items.map(targetAsLoad) };
  return target;
}

/**
 * An imported or included-without-context template run once into a module:
 * with the importer's variables when imported `with context`, else with the
 * globals only.
 */
export function moduleOf(
  state: RenderState,
  template: RuntimeTemplate,
  withContext: { vars: Map<string, unknown>; locals: Map<string, unknown> } | null,
): TemplateModule {
  const context = withContext
    ? newContext(state, template.name, template.blocks, withContext.vars, true, withContext.locals)
    : newContext(state, template.name, template.blocks, null, false);
  const sink = new Sink();
  template.root(context, sink);
  return new TemplateModule(template.name, context.exports(), sink.text());
}
