/**
 * Compiling expressions (jinja2/compiler.py's visit_* for expression nodes): names
 * by their frame's symbols, constants, operators with Python's semantics, attribute
 * and item lookup through the sandbox, calls, filters and tests, comparisons
 * chained as Python chains them. Statements are compiled in compiler.ts.
 */
import { JinjaError, typeError } from "./errors.ts";
import { FloatConst } from "./parser.ts";
import { Macro, MISSING } from "./runtime.ts";
import { binaryOp, dictSet, iterate, pyCompare, pyContains, pyEq, truthy, unaryOp } from "./operations.ts";
import { callValue, getAttribute, getItem, sliceOf } from "./lookup.ts";
import { PyFloat, pyStr, stringRepr, tuple, Undefined } from "./values.ts";
import * as N from "./nodes.ts";
import type { CodeGenerator, Eval, Frame, Rt } from "./compiler.ts";

export function visitExpr(gen: CodeGenerator, node: N.Expr, frame: Frame): Eval {
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
      return gen.fail("namespace references can only be assigned to", node.lineno, "TemplateSyntaxError");
    case "Const": {
      const value = node.value instanceof FloatConst ? new PyFloat(node.value.value) : node.value;
      return () => value;
    }
    case "Tuple": {
      const items = node.items.map((item) => visitExpr(gen, item, frame));
      return (rt) => tuple(items.map((item) => item(rt)));
    }
    case "List": {
      const items = node.items.map((item) => visitExpr(gen, item, frame));
      return (rt) => items.map((item) => item(rt));
    }
    case "Dict": {
      const pairs = node.items.map((pair) => [visitExpr(gen, pair.key, frame), visitExpr(gen, pair.value, frame)]);
      return (rt) => {
        const dict = new Map<unknown, unknown>();
        for (const [key, value] of pairs) dictSet(dict, key(rt), value(rt));
        return dict;
      };
    }
    case "CondExpr": {
      const soft = frame.soft();
      const test = visitExpr(gen, node.test, soft);
      const expr1 = visitExpr(gen, node.expr1, soft);
      const where = `line ${node.lineno} in ${stringRepr(gen.name)}`;
      const expr2 = node.expr2
        ? visitExpr(gen, node.expr2, soft)
        : () =>
          new Undefined(`the inline if-expression on ${where} evaluated to false and no else section was defined.`);
      return (rt) => (truthy(test(rt)) ? expr1(rt) : expr2(rt));
    }
    case "BinExpr": {
      const left = visitExpr(gen, node.left, frame);
      const right = visitExpr(gen, node.right, frame);
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
      const operand = visitExpr(gen, node.node, frame);
      if (node.op === "not") return (rt) => !truthy(operand(rt));
      const op = node.op;
      return (rt) => unaryOp(op, operand(rt));
    }
    case "Concat": {
      const parts = node.nodes.map((n) => visitExpr(gen, n, frame));
      return (rt) => parts.map((part) => pyStr(part(rt))).join("");
    }
    case "Compare":
      return visitCompare(gen, node, frame);
    case "Getattr": {
      const obj = visitExpr(gen, node.node, frame);
      const attr = node.attr;
      return (rt) => getAttribute(obj(rt), attr);
    }
    case "Getitem": {
      const obj = visitExpr(gen, node.node, frame);
      if (node.arg.type === "Slice") {
        const part = (n: N.Expr | null) => (n ? visitExpr(gen, n, frame) : () => null);
        const [start, stop, step] = [part(node.arg.start), part(node.arg.stop), part(node.arg.step)];
        return (rt) => {
          const target = obj(rt);
          return sliceOf(target, start(rt), stop(rt), step(rt));
        };
      }
      const arg = visitExpr(gen, node.arg, frame);
      return (rt) => {
        const target = obj(rt);
        return getItem(target, arg(rt));
      };
    }
    case "Slice":
      return gen.fail("a slice can only be used in a subscript", node.lineno, "TemplateSyntaxError");
    case "Call":
      return visitCall(gen, node, frame);
    case "Filter": {
      const filter = visitFilter(gen, node, frame);
      return (rt) => filter(rt, undefined);
    }
    case "Test":
      return visitTest(gen, node, frame);
  }
}

export function visitCompare(gen: CodeGenerator, node: N.Compare, frame: Frame): Eval {
  const first = visitExpr(gen, node.expr, frame);
  const ops = node.ops.map((operand) => [operand.op, visitExpr(gen, operand.expr, frame)] as const);
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
export function callArgs(
  gen: CodeGenerator,
  node: N.CallArgs,
  frame: Frame,
): (rt: Rt) => [unknown[], Map<string, unknown>] {
  const args = node.args.map((a) => visitExpr(gen, a, frame));
  const kwargs = node.kwargs.map((k) => [k.key, visitExpr(gen, k.value, frame)] as const);
  const dynArgs = node.dynArgs ? visitExpr(gen, node.dynArgs, frame) : null;
  const dynKwargs = node.dynKwargs ? visitExpr(gen, node.dynKwargs, frame) : null;
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

export function visitCall(gen: CodeGenerator, node: N.Call, frame: Frame, caller?: (rt: Rt) => Macro): Eval {
  const callee = visitExpr(gen, node.node, frame);
  const args = callArgs(gen, node, frame);
  return (rt) => {
    const fn = callee(rt);
    const [positional, named] = args(rt);
    if (caller) named.set("caller", caller(rt));
    return callValue(fn, positional, named);
  };
}

export function visitFilter(gen: CodeGenerator, node: N.Filter, frame: Frame): (rt: Rt, input: unknown) => unknown {
  const fn = gen.env.filters.get(node.name);
  if (!fn && !frame.softFrame) gen.fail(`No filter named '${node.name}'.`, node.lineno);
  const value = node.node ? visitExpr(gen, node.node, frame) : null;
  const args = callArgs(gen, node, frame);
  const name = node.name;
  return (rt, input) => {
    if (!fn) throw new JinjaError("TemplateRuntimeError", `No filter named '${name}' found.`);
    const subject = value ? value(rt) : input;
    const [positional, named] = args(rt);
    return fn(subject, positional, named);
  };
}

export function visitTest(gen: CodeGenerator, node: N.Test, frame: Frame): Eval {
  const fn = gen.env.tests.get(node.name);
  if (!fn && !frame.softFrame) gen.fail(`No test named '${node.name}'.`, node.lineno);
  const value = visitExpr(gen, node.node, frame);
  const args = callArgs(gen, node, frame);
  const name = node.name;
  return (rt) => {
    if (!fn) throw new JinjaError("TemplateRuntimeError", `No test named '${name}' found.`);
    const subject = value(rt);
    const [positional, named] = args(rt);
    return fn(subject, positional, named);
  };
}
