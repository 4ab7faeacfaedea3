/**
 * Parsing expressions (jinja2/parser.py's parse_expression and below): conditional
 * expressions, boolean and comparison operators, arithmetic by precedence, literals,
 * lists, dicts and tuples, subscripts and slices, calls, filters and tests.
 */
import type * as N from "./nodes.ts";
import { COMPARE_OPS, describe, floatConst, Parser } from "./parser.ts";

export function parseExpression(parser: Parser, withCondexpr = true): N.Expr {
  return withCondexpr ? parseCondexpr(parser) : parseOr(parser);
}

export function parseCondexpr(parser: Parser): N.Expr {
  let lineno = parser.current.lineno;
  let expr1 = parseOr(parser);
  while (parser.skipIf("name:if")) {
    const test = parseOr(parser);
    const expr2 = parser.skipIf("name:else") ? parseCondexpr(parser) : null;
    expr1 = { type: "CondExpr", test, expr1, expr2, lineno };
    lineno = parser.current.lineno;
  }
  return expr1;
}

export function parseOr(parser: Parser): N.Expr {
  let lineno = parser.current.lineno;
  let left = parseAnd(parser);
  while (parser.skipIf("name:or")) {
    left = { type: "BinExpr", op: "or", left, right: parseAnd(parser), lineno };
    lineno = parser.current.lineno;
  }
  return left;
}

export function parseAnd(parser: Parser): N.Expr {
  let lineno = parser.current.lineno;
  let left = parseNot(parser);
  while (parser.skipIf("name:and")) {
    left = { type: "BinExpr", op: "and", left, right: parseNot(parser), lineno };
    lineno = parser.current.lineno;
  }
  return left;
}

export function parseNot(parser: Parser): N.Expr {
  if (parser.test(parser.current, "name:not")) {
    const lineno = parser.next().lineno;
    return { type: "UnaryExpr", op: "not", node: parseNot(parser), lineno };
  }
  return parseCompare(parser);
}

export function parseCompare(parser: Parser): N.Expr {
  let lineno = parser.current.lineno;
  const expr = parser.parseMath1();
  const ops: N.Operand[] = [];
  while (true) {
    const token = parser.current;
    if (token.type === "operator" && token.value in COMPARE_OPS) {
      parser.next();
      ops.push({ type: "Operand", op: COMPARE_OPS[token.value], expr: parser.parseMath1() });
    } else if (parser.skipIf("name:in")) {
      ops.push({ type: "Operand", op: "in", expr: parser.parseMath1() });
    } else if (parser.test(token, "name:not") && parser.test(parser.look(), "name:in")) {
      parser.next();
      parser.next();
      ops.push({ type: "Operand", op: "notin", expr: parser.parseMath1() });
    } else {
      break;
    }
    lineno = parser.current.lineno;
  }
  return ops.length ? { type: "Compare", expr, ops, lineno } : expr;
}

export function parseConcat(parser: Parser): N.Expr {
  const lineno = parser.current.lineno;
  const nodes = [parser.parseMath2()];
  while (parser.isOp(parser.current, "~")) {
    parser.next();
    nodes.push(parser.parseMath2());
  }
  return nodes.length === 1 ? nodes[0] : { type: "Concat", nodes, lineno };
}

export function parsePow(parser: Parser): N.Expr {
  let lineno = parser.current.lineno;
  let left = parseUnary(parser);
  while (parser.isOp(parser.current, "**")) {
    parser.next();
    left = { type: "BinExpr", op: "pow", left, right: parseUnary(parser), lineno };
    lineno = parser.current.lineno;
  }
  return left;
}

export function parseUnary(parser: Parser, withFilter = true): N.Expr {
  const token = parser.current;
  let node: N.Expr;
  if (parser.isOp(token, "-") || parser.isOp(token, "+")) {
    parser.next();
    node = {
      type: "UnaryExpr",
      op: token.value === "-" ? "neg" : "pos",
      node: parseUnary(parser, false),
      lineno: token.lineno,
    };
  } else {
    node = parsePrimary(parser);
  }
  node = parsePostfix(parser, node);
  if (withFilter) node = parseFilterExpr(parser, node);
  return node;
}

export function parsePrimary(parser: Parser): N.Expr {
  const token = parser.current;
  if (token.type === "name") {
    parser.next();
    if (["true", "false", "True", "False"].includes(token.value)) {
      return { type: "Const", value: token.value === "true" || token.value === "True", lineno: token.lineno };
    }
    if (token.value === "none" || token.value === "None") return { type: "Const", value: null, lineno: token.lineno };
    return { type: "Name", name: token.value, ctx: "load", lineno: token.lineno };
  }
  if (token.type === "string") {
    parser.next();
    // Adjacent string literals are one string, as in Python.
    let value = token.literal as string;
    while (parser.current.type === "string") value += parser.next().literal as string;
    return { type: "Const", value, lineno: token.lineno };
  }
  if (token.type === "integer" || token.type === "float") {
    parser.next();
    return {
      type: "Const",
      value: token.type === "float" ? floatConst(token.literal as number) : token.literal,
      lineno: token.lineno,
    };
  }
  if (parser.isOp(token, "(")) {
    parser.next();
    const node = parseTuple(parser, { explicitParentheses: true });
    parser.expect("operator:)");
    return node;
  }
  if (parser.isOp(token, "[")) return parseList(parser);
  if (parser.isOp(token, "{")) return parseDict(parser);
  parser.fail(`unexpected '${describe(token)}'`, token.lineno);
}

export function parseTuple(
  parser: Parser,
  options: { simplified?: boolean; withCondexpr?: boolean; extraEndRules?: string[]; explicitParentheses?: boolean } =
    {},
): N.Expr {
  let lineno = parser.current.lineno;
  const parse = options.simplified
    ? () => parsePrimary(parser)
    : () => parseExpression(parser, options.withCondexpr ?? true);
  const args: N.Expr[] = [];
  let isTuple = false;
  while (true) {
    if (args.length) parser.expect("operator:,");
    if (isTupleEnd(parser, options.extraEndRules)) break;
    args.push(parse());
    if (parser.isOp(parser.current, ",")) isTuple = true;
    else break;
    lineno = parser.current.lineno;
  }
  if (!isTuple) {
    if (args.length) return args[0];
    if (!options.explicitParentheses) {
      parser.fail(`Expected an expression, got '${describe(parser.current)}'`);
    }
  }
  return { type: "Tuple", items: args, ctx: "load", lineno };
}

export function isTupleEnd(parser: Parser, extraEndRules?: string[]): boolean {
  const current = parser.current;
  if (current.type === "variable_end" || current.type === "block_end" || parser.isOp(current, ")")) return true;
  return extraEndRules?.some((rule) => parser.test(current, rule)) ?? false;
}

export function parseList(parser: Parser): N.ListNode {
  const token = parser.expect("operator:[");
  const items: N.Expr[] = [];
  while (!parser.isOp(parser.current, "]")) {
    if (items.length) parser.expect("operator:,");
    if (parser.isOp(parser.current, "]")) break;
    items.push(parseExpression(parser));
  }
  parser.expect("operator:]");
  return { type: "List", items, lineno: token.lineno };
}

export function parseDict(parser: Parser): N.DictNode {
  const token = parser.expect("operator:{");
  const items: N.Pair[] = [];
  while (!parser.isOp(parser.current, "}")) {
    if (items.length) parser.expect("operator:,");
    if (parser.isOp(parser.current, "}")) break;
    const key = parseExpression(parser);
    parser.expect("operator::");
    const value = parseExpression(parser);
    items.push({ type: "Pair", key, value, lineno: key.lineno });
  }
  parser.expect("operator:}");
  return { type: "Dict", items, lineno: token.lineno };
}

export function parsePostfix(parser: Parser, node: N.Expr): N.Expr {
  while (true) {
    if (parser.isOp(parser.current, ".") || parser.isOp(parser.current, "[")) node = parseSubscript(parser, node);
    else if (parser.isOp(parser.current, "(")) node = parseCall(parser, node);
    else return node;
  }
}

export function parseFilterExpr(parser: Parser, node: N.Expr): N.Expr {
  while (true) {
    if (parser.isOp(parser.current, "|")) node = parseFilter(parser, node)!;
    else if (parser.test(parser.current, "name:is")) node = parseTest(parser, node);
    else if (parser.isOp(parser.current, "(")) node = parseCall(parser, node);
    else return node;
  }
}

export function parseSubscript(parser: Parser, node: N.Expr): N.Expr {
  const token = parser.next();
  if (token.value === ".") {
    const attr = parser.next();
    if (attr.type === "name") return { type: "Getattr", node, attr: attr.value, lineno: token.lineno };
    if (attr.type !== "integer") parser.fail("expected name or number", attr.lineno);
    return {
      type: "Getitem",
      node,
      arg: { type: "Const", value: attr.literal, lineno: attr.lineno },
      lineno: token.lineno,
    };
  }
  const args: N.Expr[] = [];
  while (!parser.isOp(parser.current, "]")) {
    if (args.length) parser.expect("operator:,");
    args.push(parseSubscribed(parser));
  }
  parser.expect("operator:]");
  const arg: N.Expr = args.length === 1 ? args[0] : { type: "Tuple", items: args, ctx: "load", lineno: token.lineno };
  return { type: "Getitem", node, arg, lineno: token.lineno };
}

export function parseSubscribed(parser: Parser): N.Expr {
  const lineno = parser.current.lineno;
  const args: (N.Expr | null)[] = [];
  if (parser.isOp(parser.current, ":")) {
    parser.next();
    args.push(null);
  } else {
    const node = parseExpression(parser);
    if (!parser.isOp(parser.current, ":")) return node;
    parser.next();
    args.push(node);
  }
  const endsSlot = () => parser.isOp(parser.current, "]") || parser.isOp(parser.current, ",");
  if (parser.isOp(parser.current, ":")) args.push(null);
  else if (!endsSlot()) args.push(parseExpression(parser));
  else args.push(null);
  if (parser.isOp(parser.current, ":")) {
    parser.next();
    args.push(endsSlot() ? null : parseExpression(parser));
  } else {
    args.push(null);
  }
  return { type: "Slice", start: args[0], stop: args[1], step: args[2], lineno };
}

export function parseCallArgs(parser: Parser): N.CallArgs {
  const token = parser.expect("operator:(");
  const args: N.Expr[] = [];
  const kwargs: N.Keyword[] = [];
  let dynArgs: N.Expr | null = null;
  let dynKwargs: N.Expr | null = null;
  let requireComma = false;
  const ensure = (ok: boolean) => {
    if (!ok) parser.fail("invalid syntax for function call expression", token.lineno);
  };
  while (!parser.isOp(parser.current, ")")) {
    if (requireComma) {
      parser.expect("operator:,");
      if (parser.isOp(parser.current, ")")) break;
    }
    if (parser.isOp(parser.current, "*")) {
      ensure(dynArgs === null && dynKwargs === null);
      parser.next();
      dynArgs = parseExpression(parser);
    } else if (parser.isOp(parser.current, "**")) {
      ensure(dynKwargs === null);
      parser.next();
      dynKwargs = parseExpression(parser);
    } else if (parser.current.type === "name" && parser.isOp(parser.look(), "=")) {
      ensure(dynKwargs === null);
      const key = parser.next().value;
      parser.next();
      kwargs.push({ type: "Keyword", key, value: parseExpression(parser) });
    } else {
      ensure(dynArgs === null && dynKwargs === null && kwargs.length === 0);
      args.push(parseExpression(parser));
    }
    requireComma = true;
  }
  parser.expect("operator:)");
  return { args, kwargs, dynArgs, dynKwargs };
}

export function parseCall(parser: Parser, node: N.Expr): N.Call {
  const lineno = parser.current.lineno;
  return { type: "Call", node, ...parseCallArgs(parser), lineno };
}

export function parseFilter(parser: Parser, node: N.Expr | null, startInline = false): N.Expr | null {
  while (parser.isOp(parser.current, "|") || startInline) {
    if (!startInline) parser.next();
    const token = parser.expect("name");
    let name = token.value;
    while (parser.isOp(parser.current, ".")) {
      parser.next();
      name += "." + parser.expect("name").value;
    }
    const args = parser.isOp(parser.current, "(")
      ? parseCallArgs(parser)
      : { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
    node = { type: "Filter", node, name, ...args, lineno: token.lineno };
    startInline = false;
  }
  return node;
}

export function parseTest(parser: Parser, node: N.Expr): N.Expr {
  const token = parser.next();
  const negated = parser.skipIf("name:not");
  let name = parser.expect("name").value;
  while (parser.isOp(parser.current, ".")) {
    parser.next();
    name += "." + parser.expect("name").value;
  }
  let args: N.CallArgs = { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
  const current = parser.current;
  if (parser.isOp(current, "(")) {
    args = parseCallArgs(parser);
  } else if (
    (["name", "string", "integer", "float"].includes(current.type) || parser.isOp(current, "(") ||
      parser.isOp(current, "[") || parser.isOp(current, "{")) &&
    !["name:else", "name:or", "name:and"].some((e) => parser.test(current, e))
  ) {
    if (parser.test(current, "name:is")) parser.fail("You cannot chain multiple tests with is");
    args = { ...args, args: [parsePostfix(parser, parsePrimary(parser))] };
  }
  const test: N.Test = { type: "Test", node, name, ...args, lineno: token.lineno };
  return negated ? { type: "UnaryExpr", op: "not", node: test, lineno: token.lineno } : test;
}
