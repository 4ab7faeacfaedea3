/**
 * Compiling control flow (jinja2/compiler.py's visit_For, visit_If, macros and call
 * blocks, filter blocks and with): loops with Python's loop variable and `loop`
 * object, recursive loops, macros with Python's argument rules.
 */
import * as N from "./nodes.ts";
import { Locals, LoopContext, Macro, MISSING, Sink, spend } from "./runtime.ts";
import { findUndeclared } from "./symbols.ts";
import { visitCall, visitExpr, visitFilter } from "./compile_expressions.ts";
import { iterate, truthy } from "./operations.ts";
import { pyStr, stringRepr, Undefined } from "./values.ts";
import { captured, CodeGenerator, Eval, Exec, Frame, Rt, targetAsLoad } from "./compiler.ts";

export function visitFor(gen: CodeGenerator, node: N.For, frame: Frame): Exec {
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
    const enterTest = gen.enterFrame(testFrame);
    const assign = gen.assignTarget(node.target, loopFrame);
    const read = visitExpr(gen, targetAsLoad(node.target), loopFrame);
    const test = visitExpr(gen, node.test, testFrame);
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
      gen.fail("Can't assign to special loop variable in for-loop target", name.lineno);
    }
  }
  const iter = visitExpr(gen, node.iter, frame);
  const assign = gen.assignTarget(node.target, loopFrame);
  const enterLoop = gen.enterFrame(loopFrame);
  const body = gen.blockvisit(node.body, loopFrame);
  const leaveLoop = gen.leaveFrame(loopFrame);
  const elseBody = node.else_.length ? gen.blockvisit(node.else_, elseFrame) : null;
  const enterElse = gen.enterFrame(elseFrame);
  const leaveElse = gen.leaveFrame(elseFrame);

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

export function visitIf(gen: CodeGenerator, node: N.If, frame: Frame): Exec {
  const ifFrame = frame.soft();
  const branches: [Eval, Exec][] = [[visitExpr(gen, node.test, ifFrame), gen.blockvisit(node.body, ifFrame)]];
  for (const elif of node.elif_) {
    branches.push([visitExpr(gen, elif.test, ifFrame), gen.blockvisit(elif.body, ifFrame)]);
  }
  const elseBody = node.else_.length ? gen.blockvisit(node.else_, ifFrame) : null;
  return (rt) => {
    for (const [test, body] of branches) {
      if (truthy(test(rt))) return body(rt);
    }
    elseBody?.(rt);
  };
}

/** A macro's or call block's body as a function of its arguments (jinja2's macro_body). */
export function macroBody(gen: CodeGenerator, node: N.Macro | N.CallBlock, frame: Frame): (rt: Rt) => Macro {
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
        gen.fail(
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
  const enterMacro = gen.enterFrame(frame);
  const defaults = node.args.map((arg, i) => {
    const index = i - node.args.length + node.defaults.length;
    const fallback = index >= 0 ? visitExpr(gen, node.defaults[index], frame) : null;
    const undefinedParameter = () => new Undefined(`parameter ${stringRepr(arg.name)} was not provided`, arg.name);
    return fallback ?? undefinedParameter;
  });
  const body = gen.blockvisit(node.body, frame);
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

export function visitMacro(gen: CodeGenerator, node: N.Macro, frame: Frame): Exec {
  const make = macroBody(gen, node, frame);
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

export function visitCallBlock(gen: CodeGenerator, node: N.CallBlock, frame: Frame): Exec {
  const make = macroBody(gen, node, frame);
  const call = visitCall(gen, node.call, frame, make);
  return (rt) => rt.sink.write(pyStr(call(rt)));
}

export function visitFilterBlock(gen: CodeGenerator, node: N.FilterBlock, frame: Frame): Exec {
  const filterFrame = frame.inner();
  filterFrame.symbols.analyzeNode(node);
  const enterFilter = gen.enterFrame(filterFrame);
  const body = gen.blockvisit(node.body, filterFrame);
  const filter = visitFilter(gen, node.filter, filterFrame);
  const leave = gen.leaveFrame(filterFrame);
  return (rt) => {
    enterFilter(rt);
    const text = captured(rt, body);
    rt.sink.write(pyStr(filter(rt, text)));
    leave(rt);
  };
}

export function visitWith(gen: CodeGenerator, node: N.With, frame: Frame): Exec {
  const withFrame = frame.inner();
  withFrame.symbols.analyzeNode(node);
  const enterWith = gen.enterFrame(withFrame);
  const assigns = node.targets.map((target, i) => {
    const assign = gen.assignTarget(target, withFrame);
    const value = visitExpr(gen, node.values[i], frame);
    return (rt: Rt) => assign(rt, value(rt));
  });
  const body = gen.blockvisit(node.body, withFrame);
  const leave = gen.leaveFrame(withFrame);
  return (rt) => {
    enterWith(rt);
    for (const assign of assigns) assign(rt);
    body(rt);
    leave(rt);
  };
}
