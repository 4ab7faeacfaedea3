/**
 * Parsing the statements that are not plain control flow (jinja2/parser.py): blocks,
 * includes, imports, macros and call blocks with their signatures, filter blocks.
 */
import type * as N from "./nodes.ts";
import { parseExpression, parseFilter } from "./parse_expressions.ts";
import { Parser } from "./parser.ts";

export function parseBlock(parser: Parser): N.Block {
  const lineno = parser.next().lineno;
  const name = parser.expect("name").value;
  const scoped = parser.skipIf("name:scoped");
  const required = parser.skipIf("name:required");
  if (parser.isOp(parser.current, "-")) {
    parser.fail(
      "Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.",
    );
  }
  const body = parser.parseStatements(["name:endblock"], true);
  if (
    required &&
    !body.every((s) => s.type === "Output" && s.nodes.every((n) => n.type === "TemplateData" && /^\s+$/.test(n.data)))
  ) {
    parser.fail("Required blocks can only contain comments or whitespace");
  }
  parser.skipIf(`name:${name}`);
  return { type: "Block", name, body, scoped, required, lineno };
}

export function parseImportContext(parser: Parser, fallback: boolean): boolean {
  if (
    (parser.test(parser.current, "name:with") || parser.test(parser.current, "name:without")) &&
    parser.test(parser.look(), "name:context")
  ) {
    const withContext = parser.next().value === "with";
    parser.next();
    return withContext;
  }
  return fallback;
}

export function parseInclude(parser: Parser): N.Include {
  const lineno = parser.next().lineno;
  const template = parseExpression(parser);
  let ignoreMissing = false;
  if (parser.test(parser.current, "name:ignore") && parser.test(parser.look(), "name:missing")) {
    ignoreMissing = true;
    parser.next();
    parser.next();
  }
  return { type: "Include", template, ignoreMissing, withContext: parseImportContext(parser, true), lineno };
}

export function parseImport(parser: Parser): N.Import {
  const lineno = parser.next().lineno;
  const template = parseExpression(parser);
  parser.expect("name:as");
  const target = parser.expect("name").value;
  return { type: "Import", template, target, withContext: parseImportContext(parser, false), lineno };
}

export function parseFrom(parser: Parser): N.FromImport {
  const lineno = parser.next().lineno;
  const template = parseExpression(parser);
  parser.expect("name:import");
  const names: (string | [string, string])[] = [];
  let withContext: boolean | undefined;
  const parseContext = () => {
    if (
      (parser.current.value === "with" || parser.current.value === "without") &&
      parser.test(parser.look(), "name:context")
    ) {
      withContext = parser.next().value === "with";
      parser.next();
      return true;
    }
    return false;
  };
  while (true) {
    if (names.length) parser.expect("operator:,");
    if (parser.current.type === "name") {
      if (parseContext()) break;
      const target = parser.expect("name");
      if (target.value.startsWith("_")) {
        parser.fail("names starting with an underline can not be imported", target.lineno, "TemplateAssertionError");
      }
      if (parser.skipIf("name:as")) names.push([target.value, parser.expect("name").value]);
      else names.push(target.value);
      if (parseContext() || !parser.isOp(parser.current, ",")) break;
    } else {
      parser.expect("name");
    }
  }
  return { type: "FromImport", template, names, withContext: withContext ?? false, lineno };
}

export function parseSignature(parser: Parser): { args: N.Name[]; defaults: N.Expr[] } {
  const args: N.Name[] = [];
  const defaults: N.Expr[] = [];
  parser.expect("operator:(");
  while (!parser.isOp(parser.current, ")")) {
    if (args.length) parser.expect("operator:,");
    const token = parser.expect("name");
    const arg: N.Name = { type: "Name", name: token.value, ctx: "param", lineno: token.lineno };
    if (parser.skipIf("operator:=")) defaults.push(parseExpression(parser));
    else if (defaults.length) parser.fail("non-default argument follows default argument");
    args.push(arg);
  }
  parser.expect("operator:)");
  return { args, defaults };
}

export function parseCallBlock(parser: Parser): N.CallBlock {
  const lineno = parser.next().lineno;
  const signature = parser.isOp(parser.current, "(") ? parseSignature(parser) : { args: [], defaults: [] };
  const call = parseExpression(parser);
  if (call.type !== "Call") parser.fail("expected call", lineno);
  const body = parser.parseStatements(["name:endcall"], true);
  return { type: "CallBlock", call, ...signature, body, lineno };
}

export function parseFilterBlock(parser: Parser): N.FilterBlock {
  const lineno = parser.next().lineno;
  const filter = parseFilter(parser, null, true) as N.Filter;
  const body = parser.parseStatements(["name:endfilter"], true);
  return { type: "FilterBlock", filter, body, lineno };
}

export function parseMacro(parser: Parser): N.Macro {
  const lineno = parser.next().lineno;
  const name = parser.expect("name").value;
  const signature = parseSignature(parser);
  const body = parser.parseStatements(["name:endmacro"], true);
  return { type: "Macro", name, ...signature, body, lineno };
}
