/**
 * Turns a template's syntax tree into JavaScript closures that do what the Python
 * code Jinja2's code generator (jinja2/compiler.py) writes would do, node for
 * node: the same frames (with symbols.ts deciding each name's scope), the same
 * order of evaluation, the same inheritance (a child's top level runs first, then
 * its parent's root with the same context; output outside blocks of a child is
 * dropped), blocks rendered from `context.blocks`, includes with the includer's
 * variables, imports without them, macros with Python's argument rules.
 */
import { JinjaError, typeError, valueError } from "./errors.ts";
import type { FilterFunction, TestFunction } from "./filters.ts";
import * as N from "./nodes.ts";
import { FloatConst } from "./parser.ts";
import {
  BlockFunction,
  Context,
  enter,
  Locals,
  LoopContext,
  Macro,
  MISSING,
  Namespace,
  newContext,
  type RenderState,
  type RuntimeTemplate,
  Sink,
  spend,
  TemplateModule,
  TemplateReference,
} from "./runtime.ts";
import { findUndeclared, Symbols } from "./symbols.ts";
import { binaryOp, dictSet, iterate, pyCompare, pyContains, pyEq, truthy, unaryOp } from "./operations.ts";
import { callValue, getAttribute, getItem, sliceOf } from "./lookup.ts";
import { PyFloat, pyStr, stringRepr, tuple, Undefined } from "./values.ts";

/** One call of a render function (a template's root, a block, a macro body, a recursive loop). */
interface Rt {
  readonly locals: Locals;
  readonly context: Context;
  sink: Sink;
  /** The root function's `parent_template`: set once the template has extended another. */
  readonly root: { parent: RuntimeTemplate | null };
}

type Exec = (rt: Rt) => void;
type Eval = (rt: Rt) => unknown;

/** What compiling needs from the environment. */
export interface CompileEnvironment {
  readonly filters: ReadonlyMap<string, FilterFunction>;
  readonly tests: ReadonlyMap<string, TestFunction>;
}

class Frame {
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
class CompilerExit {
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

class CodeGenerator {
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
        return this.visitExtends(node, frame);
      case "Block":
        return this.visitBlock(node, frame);
      case "Include":
        return this.visitInclude(node, frame);
      case "Import":
        return this.visitImport(node, frame);
      case "FromImport":
        return this.visitFromImport(node, frame);
      case "For":
        return this.visitFor(node, frame);
      case "If":
        return this.visitIf(node, frame);
      case "Macro":
        return this.visitMacro(node, frame);
      case "CallBlock":
        return this.visitCallBlock(node, frame);
      case "FilterBlock":
        return this.visitFilterBlock(node, frame);
      case "With":
        return this.visitWith(node, frame);
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
      const value = this.visitExpr(child, frame);
      return (rt) => rt.sink.write(pyStr(value(rt)));
    });
    return (rt) => {
      if (check && rt.root.parent) return;
      for (const part of parts) part(rt);
    };
  }

  visitExtends(node: N.Extends, frame: Frame): Exec {
    if (!frame.toplevel) this.fail("cannot use extend from a non top-level scope", node.lineno);
    const twice = (): never => {
      throw new JinjaError("TemplateRuntimeError", "extended multiple times");
    };
    let guard: Exec | null = null;
    if (this.extendsSoFar > 0) {
      if (this.hasKnownExtends) throw new CompilerExit(twice);
      guard = (rt) => {
        if (rt.root.parent) twice();
      };
    }
    const template = this.visitExpr(node.template, frame);
    const name = this.name;
    if (frame.rootlevel) this.hasKnownExtends = true;
    this.extendsSoFar++;
    return (rt) => {
      guard?.(rt);
      const parent = rt.context.state.loadTemplate(template(rt), name);
      rt.root.parent = parent;
      for (const [blockName, block] of parent.blocks) {
        const stack = rt.context.blocks.get(blockName);
        if (stack) stack.push(block);
        else rt.context.blocks.set(blockName, [block]);
      }
    };
  }

  visitBlock(node: N.Block, frame: Frame): Exec {
    let check = false;
    if (frame.toplevel) {
      if (this.hasKnownExtends) return () => {};
      if (this.extendsSoFar > 0) check = true;
    }
    const scoped = node.scoped ? this.localContext(frame) : null;
    const { name, required } = node;
    return (rt) => {
      if (check && rt.root.parent) return;
      const context = scoped ? rt.context.derived(scoped(rt)) : rt.context;
      const stack = rt.context.blocks.get(name)!;
      if (required && stack.length <= 1) {
        throw new JinjaError("TemplateRuntimeError", `Required block '${name}' not found`);
      }
      stack[0].run(context, rt.sink);
    };
  }

  visitInclude(node: N.Include, frame: Frame): Exec {
    const template = this.visitExpr(node.template, frame);
    const locals = node.withContext ? this.localContext(frame) : null;
    const name = this.name;
    return (rt) => {
      const state = rt.context.state;
      let included: RuntimeTemplate;
      try {
        included = state.selectTemplate(template(rt), name);
      } catch (error) {
        if (node.ignoreMissing && error instanceof JinjaError && error.kind.startsWith("TemplatesNotFound")) return;
        if (node.ignoreMissing && error instanceof JinjaError && error.kind === "TemplateNotFound") return;
        throw error;
      }
      enter(state);
      try {
        if (locals) {
          const context = newContext(state, included.name, included.blocks, rt.context.getAll(), true, locals(rt));
          included.root(context, rt.sink);
        } else {
          rt.sink.write(moduleOf(state, included, null).body);
        }
      } finally {
        state.depth--;
      }
    };
  }

  importModule(node: N.Import | N.FromImport, frame: Frame): (rt: Rt) => TemplateModule {
    const template = this.visitExpr(node.template, frame);
    const locals = node.withContext ? this.localContext(frame) : null;
    const name = this.name;
    return (rt) => {
      const state = rt.context.state;
      const imported = state.loadTemplate(template(rt), name);
      enter(state);
      try {
        return moduleOf(state, imported, locals ? { vars: rt.context.getAll(), locals: locals(rt) } : null);
      } finally {
        state.depth--;
      }
    };
  }

  visitImport(node: N.Import, frame: Frame): Exec {
    const module = this.importModule(node, frame);
    const ref = frame.symbols.ref(node.target);
    const toplevel = frame.toplevel;
    return (rt) => {
      const value = module(rt);
      if (toplevel) {
        rt.context.vars.set(node.target, value);
        if (!node.target.startsWith("_")) rt.context.exported.delete(node.target);
      }
      rt.locals.set(ref, value);
    };
  }

  visitFromImport(node: N.FromImport, frame: Frame): Exec {
    const module = this.importModule(node, frame);
    const names = node.names.map((n) => (typeof n === "string" ? [n, n] : n));
    const refs = names.map(([, alias]) => frame.symbols.ref(alias));
    const toplevel = frame.toplevel;
    const where = `line ${node.lineno} in ${stringRepr(this.name)}`;
    return (rt) => {
      const imported = module(rt);
      names.forEach(([name, alias], i) => {
        const value = imported.exports.has(name) ? imported.exports.get(name) : new Undefined(
          `the template ${stringRepr(imported.name)} (imported on ${where}) does not export the requested name ${
            stringRepr(name)
          }`,
          name,
        );
        rt.locals.set(refs[i], value);
        if (toplevel) {
          rt.context.vars.set(alias, value);
          if (!alias.startsWith("_")) rt.context.exported.delete(alias);
        }
      });
    };
  }

  visitFor(node: N.For, frame: Frame): Exec {
    const loopFrame = frame.inner();
    loopFrame.loopFrame = true;
    const testFrame = frame.inner();
    const elseFrame = frame.inner();
    const extendedLoop = node.recursive || findUndeclared(node.body, ["loop"]).has("loop") ||
      N.findAll(node, "Block").some((b) => b.scoped);
    const loopRef = extendedLoop ? loopFrame.symbols.declareParameter("loop") : null;
    loopFrame.symbols.analyzeNode(node, "body");
    if (node.else_.length) elseFrame.symbols.analyzeNode(node, "else");

    let filter: ((rt: Rt, items: unknown[]) => unknown[]) | null = null;
    if (node.test) {
      testFrame.symbols.analyzeNode(node, "test");
      const enterTest = this.enterFrame(testFrame);
      const assign = this.assignTarget(node.target, loopFrame);
      const read = this.visitExpr(targetAsLoad(node.target), loopFrame);
      const test = this.visitExpr(node.test, testFrame);
      // The loop filter is a function of its own in Jinja2: its variables do not leak into the loop.
      filter = (rt, items) => {
        const inner: Rt = { ...rt, locals: new Locals(rt.locals) };
        enterTest(inner);
        const kept: unknown[] = [];
        for (const item of items) {
          assign(inner, item);
          if (truthy(test(inner))) kept.push(read(inner));
        }
        return kept;
      };
    }
    for (const name of N.findAll(node, "Name")) {
      if (name.ctx === "store" && name.name === "loop") {
        this.fail("Can't assign to special loop variable in for-loop target", name.lineno);
      }
    }
    const iter = this.visitExpr(node.iter, frame);
    const assign = this.assignTarget(node.target, loopFrame);
    const enterLoop = this.enterFrame(loopFrame);
    const body = this.blockvisit(node.body, loopFrame);
    const leaveLoop = this.leaveFrame(loopFrame);
    const elseBody = node.else_.length ? this.blockvisit(node.else_, elseFrame) : null;
    const enterElse = this.enterFrame(elseFrame);
    const leaveElse = this.leaveFrame(elseFrame);

    const run = (rt: Rt, source: unknown, depth: number, recurse?: (items: unknown, depth: number) => string) => {
      let items = iterate(source);
      if (filter) items = filter(rt, items);
      const loop = extendedLoop ? new LoopContext(items, depth, recurse) : null;
      if (loopRef) rt.locals.set(loopRef, MISSING);
      let iterated = false;
      const state = rt.context.state;
      for (let i = 0; i < items.length; i++) {
        spend(state);
        assign(rt, items[i]);
        if (loop) {
          loop.index0 = i;
          rt.locals.set(loopRef!, loop);
        }
        enterLoop(rt);
        body(rt);
        iterated = true;
      }
      if (!node.recursive || elseBody) leaveLoop(rt);
      if (elseBody && !iterated) {
        enterElse(rt);
        elseBody(rt);
        leaveElse(rt);
      }
    };

    if (!node.recursive) return (rt) => run(rt, iter(rt), 0);
    // A recursive loop is a function of its own that renders into a buffer; `loop(items)` calls it again.
    return (rt) => {
      const recurse = (source: unknown, depth: number): string => {
        const inner: Rt = { ...rt, locals: new Locals(rt.locals), sink: new Sink() };
        run(inner, source, depth, recurse);
        return inner.sink.text();
      };
      rt.sink.write(recurse(iter(rt), 0));
    };
  }

  visitIf(node: N.If, frame: Frame): Exec {
    const ifFrame = frame.soft();
    const branches: [Eval, Exec][] = [[this.visitExpr(node.test, ifFrame), this.blockvisit(node.body, ifFrame)]];
    for (const elif of node.elif_) {
      branches.push([this.visitExpr(elif.test, ifFrame), this.blockvisit(elif.body, ifFrame)]);
    }
    const elseBody = node.else_.length ? this.blockvisit(node.else_, ifFrame) : null;
    return (rt) => {
      for (const [test, body] of branches) {
        if (truthy(test(rt))) return body(rt);
      }
      elseBody?.(rt);
    };
  }

  /** A macro's or call block's body as a function of its arguments (jinja2's macro_body). */
  macroBody(node: N.Macro | N.CallBlock, frame: Frame): (rt: Rt) => Macro {
    frame = frame.inner();
    frame.symbols.analyzeNode(node);
    const argNames = node.args.map((a) => a.name);
    const refs = argNames.map((name) => frame.symbols.ref(name));
    const explicitCaller = argNames.indexOf("caller");
    const skipSpecial = new Set(argNames.filter((n) => n === "kwargs" || n === "varargs"));
    const undeclared = findUndeclared(node.body, ["caller", "kwargs", "varargs"]);
    let caller = false;
    let catchKwargs = false;
    let catchVarargs = false;
    if (undeclared.has("caller")) {
      if (explicitCaller >= 0) {
        if (node.defaults[explicitCaller - argNames.length + node.defaults.length] === undefined) {
          this.fail(
            'When defining macros or call blocks the special "caller" argument must be omitted or be given a default.',
            node.lineno,
          );
        }
      } else {
        refs.push(frame.symbols.declareParameter("caller"));
      }
      caller = true;
    }
    if (undeclared.has("kwargs") && !skipSpecial.has("kwargs")) {
      refs.push(frame.symbols.declareParameter("kwargs"));
      catchKwargs = true;
    }
    if (undeclared.has("varargs") && !skipSpecial.has("varargs")) {
      refs.push(frame.symbols.declareParameter("varargs"));
      catchVarargs = true;
    }
    frame.requireOutputCheck = false;
    frame.symbols.analyzeNode(node);
    const enterMacro = this.enterFrame(frame);
    const defaults = node.args.map((arg, i) => {
      const index = i - node.args.length + node.defaults.length;
      const fallback = index >= 0 ? this.visitExpr(node.defaults[index], frame) : null;
      const undefinedParameter = () => new Undefined(`parameter ${stringRepr(arg.name)} was not provided`, arg.name);
      return fallback ?? undefinedParameter;
    });
    const body = this.blockvisit(node.body, frame);
    const macroName = node.type === "Macro" ? node.name : null;
    return (definer) => {
      const state = definer.context.state;
      return new Macro(state, macroName, argNames, catchKwargs, catchVarargs, caller, (args) => {
        const rt: Rt = {
          locals: new Locals(definer.locals),
          context: definer.context,
          sink: new Sink(),
          root: definer.root,
        };
        refs.forEach((ref, i) => rt.locals.set(ref, args[i]));
        enterMacro(rt);
        refs.slice(0, argNames.length).forEach((ref, i) => {
          if (rt.locals.get(ref) === MISSING) rt.locals.set(ref, defaults[i](rt));
        });
        body(rt);
        return rt.sink.text();
      });
    };
  }

  visitMacro(node: N.Macro, frame: Frame): Exec {
    const make = this.macroBody(node, frame);
    const ref = frame.symbols.ref(node.name);
    const toplevel = frame.toplevel;
    return (rt) => {
      const macro = make(rt);
      if (toplevel) {
        if (!node.name.startsWith("_")) rt.context.exported.add(node.name);
        rt.context.vars.set(node.name, macro);
      }
      rt.locals.set(ref, macro);
    };
  }

  visitCallBlock(node: N.CallBlock, frame: Frame): Exec {
    const make = this.macroBody(node, frame);
    const call = this.visitCall(node.call, frame, make);
    return (rt) => rt.sink.write(pyStr(call(rt)));
  }

  visitFilterBlock(node: N.FilterBlock, frame: Frame): Exec {
    const filterFrame = frame.inner();
    filterFrame.symbols.analyzeNode(node);
    const enterFilter = this.enterFrame(filterFrame);
    const body = this.blockvisit(node.body, filterFrame);
    const filter = this.visitFilter(node.filter, filterFrame);
    const leave = this.leaveFrame(filterFrame);
    return (rt) => {
      enterFilter(rt);
      const text = captured(rt, body);
      rt.sink.write(pyStr(filter(rt, text)));
      leave(rt);
    };
  }

  visitWith(node: N.With, frame: Frame): Exec {
    const withFrame = frame.inner();
    withFrame.symbols.analyzeNode(node);
    const enterWith = this.enterFrame(withFrame);
    const assigns = node.targets.map((target, i) => {
      const assign = this.assignTarget(target, withFrame);
      const value = this.visitExpr(node.values[i], frame);
      return (rt: Rt) => assign(rt, value(rt));
    });
    const body = this.blockvisit(node.body, withFrame);
    const leave = this.leaveFrame(withFrame);
    return (rt) => {
      enterWith(rt);
      for (const assign of assigns) assign(rt);
      body(rt);
      leave(rt);
    };
  }

  visitAssign(node: N.Assign, frame: Frame): Exec {
    const guard = this.namespaceGuard(node.target, frame);
    const assign = this.assignTarget(node.target, frame);
    const value = this.visitExpr(node.node, frame);
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
    const filter = node.filter ? this.visitFilter(node.filter, blockFrame) : null;
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
    const autoescape = node.autoescape ? this.visitExpr(node.autoescape, scopeFrame) : null;
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

  // --- expressions -------------------------------------------------------------------

  visitExpr(node: N.Expr, frame: Frame): Eval {
    switch (node.type) {
      case "Name": {
        const ref = frame.symbols.ref(node.name);
        const name = node.name;
        return (rt) => {
          const value = rt.locals.get(ref);
          return value === MISSING ? new Undefined(undefined, name) : value;
        };
      }
      case "NSRef":
        return this.fail("namespace references can only be assigned to", node.lineno, "TemplateSyntaxError");
      case "Const": {
        const value = node.value instanceof FloatConst ? new PyFloat(node.value.value) : node.value;
        return () => value;
      }
      case "Tuple": {
        const items = node.items.map((item) => this.visitExpr(item, frame));
        return (rt) => tuple(items.map((item) => item(rt)));
      }
      case "List": {
        const items = node.items.map((item) => this.visitExpr(item, frame));
        return (rt) => items.map((item) => item(rt));
      }
      case "Dict": {
        const pairs = node.items.map((pair) => [this.visitExpr(pair.key, frame), this.visitExpr(pair.value, frame)]);
        return (rt) => {
          const dict = new Map<unknown, unknown>();
          for (const [key, value] of pairs) dictSet(dict, key(rt), value(rt));
          return dict;
        };
      }
      case "CondExpr": {
        const soft = frame.soft();
        const test = this.visitExpr(node.test, soft);
        const expr1 = this.visitExpr(node.expr1, soft);
        const where = `line ${node.lineno} in ${stringRepr(this.name)}`;
        const expr2 = node.expr2
          ? this.visitExpr(node.expr2, soft)
          : () =>
            new Undefined(`the inline if-expression on ${where} evaluated to false and no else section was defined.`);
        return (rt) => (truthy(test(rt)) ? expr1(rt) : expr2(rt));
      }
      case "BinExpr": {
        const left = this.visitExpr(node.left, frame);
        const right = this.visitExpr(node.right, frame);
        const op = node.op;
        if (op === "and") {
          return (rt) => {
            const l = left(rt);
            return truthy(l) ? right(rt) : l;
          };
        }
        if (op === "or") {
          return (rt) => {
            const l = left(rt);
            return truthy(l) ? l : right(rt);
          };
        }
        return (rt) => binaryOp(op, left(rt), right(rt));
      }
      case "UnaryExpr": {
        const operand = this.visitExpr(node.node, frame);
        if (node.op === "not") return (rt) => !truthy(operand(rt));
        const op = node.op;
        return (rt) => unaryOp(op, operand(rt));
      }
      case "Concat": {
        const parts = node.nodes.map((n) => this.visitExpr(n, frame));
        return (rt) => parts.map((part) => pyStr(part(rt))).join("");
      }
      case "Compare":
        return this.visitCompare(node, frame);
      case "Getattr": {
        const obj = this.visitExpr(node.node, frame);
        const attr = node.attr;
        return (rt) => getAttribute(obj(rt), attr);
      }
      case "Getitem": {
        const obj = this.visitExpr(node.node, frame);
        if (node.arg.type === "Slice") {
          const part = (n: N.Expr | null) => (n ? this.visitExpr(n, frame) : () => null);
          const [start, stop, step] = [part(node.arg.start), part(node.arg.stop), part(node.arg.step)];
          return (rt) => {
            const target = obj(rt);
            return sliceOf(target, start(rt), stop(rt), step(rt));
          };
        }
        const arg = this.visitExpr(node.arg, frame);
        return (rt) => {
          const target = obj(rt);
          return getItem(target, arg(rt));
        };
      }
      case "Slice":
        return this.fail("a slice can only be used in a subscript", node.lineno, "TemplateSyntaxError");
      case "Call":
        return this.visitCall(node, frame);
      case "Filter": {
        const filter = this.visitFilter(node, frame);
        return (rt) => filter(rt, undefined);
      }
      case "Test":
        return this.visitTest(node, frame);
    }
  }

  visitCompare(node: N.Compare, frame: Frame): Eval {
    const first = this.visitExpr(node.expr, frame);
    const ops = node.ops.map((operand) => [operand.op, this.visitExpr(operand.expr, frame)] as const);
    return (rt) => {
      let left = first(rt);
      for (const [op, expr] of ops) {
        const right = expr(rt);
        let result: boolean;
        switch (op) {
          case "eq":
            result = pyEq(left, right);
            break;
          case "ne":
            result = !pyEq(left, right);
            break;
          case "in":
            result = pyContains(right, left);
            break;
          case "notin":
            result = !pyContains(right, left);
            break;
          default:
            result = pyCompare(op, left, right);
        }
        if (!result) return false;
        left = right;
      }
      return true;
    };
  }

  /** Positional and keyword arguments of a call, filter or test, with `*args` and `**kwargs`. */
  callArgs(node: N.CallArgs, frame: Frame): (rt: Rt) => [unknown[], Map<string, unknown>] {
    const args = node.args.map((a) => this.visitExpr(a, frame));
    const kwargs = node.kwargs.map((k) => [k.key, this.visitExpr(k.value, frame)] as const);
    const dynArgs = node.dynArgs ? this.visitExpr(node.dynArgs, frame) : null;
    const dynKwargs = node.dynKwargs ? this.visitExpr(node.dynKwargs, frame) : null;
    return (rt) => {
      const positional = args.map((a) => a(rt));
      const named = new Map<string, unknown>();
      for (const [key, value] of kwargs) {
        if (named.has(key)) throw typeError(`keyword argument repeated: ${key}`);
        named.set(key, value(rt));
      }
      if (dynArgs) positional.push(...iterate(dynArgs(rt)));
      if (dynKwargs) {
        const extra = dynKwargs(rt);
        if (!(extra instanceof Map)) throw typeError("argument after ** must be a mapping");
        for (const [key, value] of extra) {
          if (typeof key !== "string") throw typeError("keywords must be strings");
          if (named.has(key)) throw typeError(`got multiple values for keyword argument '${key}'`);
          named.set(key, value);
        }
      }
      return [positional, named];
    };
  }

  visitCall(node: N.Call, frame: Frame, caller?: (rt: Rt) => Macro): Eval {
    const callee = this.visitExpr(node.node, frame);
    const args = this.callArgs(node, frame);
    return (rt) => {
      const fn = callee(rt);
      const [positional, named] = args(rt);
      if (caller) named.set("caller", caller(rt));
      return callValue(fn, positional, named);
    };
  }

  visitFilter(node: N.Filter, frame: Frame): (rt: Rt, input: unknown) => unknown {
    const fn = this.env.filters.get(node.name);
    if (!fn && !frame.softFrame) this.fail(`No filter named '${node.name}'.`, node.lineno);
    const value = node.node ? this.visitExpr(node.node, frame) : null;
    const args = this.callArgs(node, frame);
    const name = node.name;
    return (rt, input) => {
      if (!fn) throw new JinjaError("TemplateRuntimeError", `No filter named '${name}' found.`);
      const subject = value ? value(rt) : input;
      const [positional, named] = args(rt);
      return fn(subject, positional, named);
    };
  }

  visitTest(node: N.Test, frame: Frame): Eval {
    const fn = this.env.tests.get(node.name);
    if (!fn && !frame.softFrame) this.fail(`No test named '${node.name}'.`, node.lineno);
    const value = this.visitExpr(node.node, frame);
    const args = this.callArgs(node, frame);
    const name = node.name;
    return (rt) => {
      if (!fn) throw new JinjaError("TemplateRuntimeError", `No test named '${name}' found.`);
      const subject = value(rt);
      const [positional, named] = args(rt);
      return fn(subject, positional, named);
    };
  }
}

/** Runs a body into a buffer of its own (a set block, a filter block) and gives its text. */
function captured(rt: Rt, body: Exec): string {
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
function targetAsLoad(target: N.Expr): N.Expr {
  if (target.type === "Name") return { ...target, ctx: "load" };
  if (target.type === "Tuple") return { ...target, ctx: "load", items: target.items.map(targetAsLoad) };
  return target;
}

/**
 * An imported or included-without-context template run once into a module:
 * with the importer's variables when imported `with context`, else with the
 * globals only.
 */
function moduleOf(
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
