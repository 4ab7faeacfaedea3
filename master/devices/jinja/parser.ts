/**
 * Jinja2's parser (jinja2/parser.py, 3.1), production for production: the same
 * precedence (tests and filters bind tighter than arithmetic, `**` is left
 * associative), adjacent string literals joined, trailing commas accepted in
 * lists, tuples, dicts and calls, a test's single argument without parentheses,
 * and the same statements. No extensions, as in LAVA (no `do`, `break`, `continue`).
 *
 * This module holds the token stream and the statements of control flow;
 * expressions are parsed in parse_expressions.ts, blocks, includes, imports and
 * macros in parse_statements.ts.
 */
import { JinjaError } from "./errors.ts";
import type { Token, TokenType } from "./lexer.ts";
import type * as N from "./nodes.ts";
import { parseConcat, parseExpression, parseFilter, parsePow, parsePrimary, parseTuple } from "./parse_expressions.ts";
import {
  parseBlock,
  parseCallBlock,
  parseFilterBlock,
  parseFrom,
  parseImport,
  parseInclude,
  parseMacro,
} from "./parse_statements.ts";

const STATEMENTS = new Set([
  "for",
  "if",
  "block",
  "extends",
  "print",
  "macro",
  "include",
  "from",
  "import",
  "set",
  "with",
  "autoescape",
]);
export const COMPARE_OPS: Record<string, N.CompareOp> = {
  "==": "eq",
  "!=": "ne",
  "<": "lt",
  "<=": "lteq",
  ">": "gt",
  ">=": "gteq",
};
const TOKEN_DESCRIPTIONS: Record<string, string> = {
  block_begin: "begin of statement block",
  block_end: "end of statement block",
  variable_begin: "begin of print statement",
  variable_end: "end of print statement",
  eof: "end of template",
};

export class Parser {
  tokens: Token[];
  pos = 0;
  readonly name: string;
  readonly tagStack: string[] = [];
  readonly endTokenStack: string[][] = [];

  constructor(tokens: Token[], name: string) {
    this.tokens = tokens;
    this.name = name;
  }

  parse(): N.Template {
    return { type: "Template", body: this.subparse(null), lineno: 1 };
  }

  // --- the token stream ----------------------------------------------------

  get current(): Token {
    return this.tokens[this.pos];
  }

  look(): Token {
    return this.tokens[Math.min(this.pos + 1, this.tokens.length - 1)];
  }

  next(): Token {
    const token = this.tokens[this.pos];
    if (token.type !== "eof") this.pos++;
    return token;
  }

  /** `name:for`, `block_end`, `operator:,` style token tests. */
  test(token: Token, expr: string): boolean {
    const colon = expr.indexOf(":");
    if (colon < 0) return tokenKind(token) === expr;
    return tokenKind(token) === expr.slice(0, colon) && token.value === expr.slice(colon + 1);
  }

  skipIf(expr: string): boolean {
    if (this.test(this.current, expr)) {
      this.next();
      return true;
    }
    return false;
  }

  expect(expr: string): Token {
    const token = this.current;
    if (!this.test(token, expr)) {
      if (token.type === "eof") this.fail(`unexpected end of template, expected '${describeExpr(expr)}'.`);
      this.fail(`expected token '${describeExpr(expr)}', got '${describe(token)}'`);
    }
    return this.next();
  }

  isOp(token: Token, op: string): boolean {
    return token.type === "operator" && token.value === op;
  }

  fail(message: string, lineno = this.current.lineno, kind = "TemplateSyntaxError"): never {
    throw new JinjaError(kind, message, { name: this.name, lineno });
  }

  failUnknownTag(name: string | null, lineno: number, extraEnd?: string[]): never {
    const stack = extraEnd ? [...this.endTokenStack, extraEnd] : this.endTokenStack;
    const expected = new Set(stack.flat().map(describeExpr));
    const looking = stack.length ? stack[stack.length - 1].map((e) => `'${describeExpr(e)}'`).join(" or ") : null;
    const message = [name === null ? "Unexpected end of template." : `Encountered unknown tag '${name}'.`];
    if (looking) {
      if (name !== null && expected.has(name)) {
        message.push(
          `You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for ${looking}.`,
        );
      } else {
        message.push(`Jinja was looking for the following tags: ${looking}.`);
      }
    }
    if (this.tagStack.length) {
      message.push(`The innermost block that needs to be closed is '${this.tagStack.at(-1)}'.`);
    }
    this.fail(message.join(" "), lineno);
  }

  // --- statements ----------------------------------------------------------

  subparse(endTokens: string[] | null): N.Stmt[] {
    const body: N.Stmt[] = [];
    let data: (N.TemplateData | N.Expr)[] = [];
    if (endTokens) this.endTokenStack.push(endTokens);
    const flush = () => {
      if (data.length) body.push({ type: "Output", nodes: data, lineno: data[0].lineno });
      data = [];
    };
    try {
      while (this.current.type !== "eof") {
        const token = this.current;
        if (token.type === "data") {
          data.push({ type: "TemplateData", data: token.value, lineno: token.lineno });
          this.next();
        } else if (token.type === "variable_begin") {
          this.next();
          data.push(parseTuple(this, { withCondexpr: true }));
          this.expect("variable_end");
        } else if (token.type === "block_begin") {
          flush();
          this.next();
          if (endTokens && endTokens.some((e) => this.test(this.current, e))) return body;
          body.push(this.parseStatement());
          this.expect("block_end");
        } else {
          this.fail("internal parsing error");
        }
      }
      flush();
    } finally {
      if (endTokens) this.endTokenStack.pop();
    }
    return body;
  }

  parseStatement(): N.Stmt {
    const token = this.current;
    if (token.type !== "name") this.fail("tag name expected", token.lineno);
    this.tagStack.push(token.value);
    let pop = true;
    try {
      switch (
        STATEMENTS.has(token.value)
          ? token.value
          : token.value === "call" || token.value === "filter"
          ? token.value
          : ""
      ) {
        case "for":
          return this.parseFor();
        case "if":
          return this.parseIf();
        case "block":
          return parseBlock(this);
        case "extends":
          return { type: "Extends", lineno: this.next().lineno, template: parseExpression(this) };
        case "print":
          return this.parsePrint();
        case "macro":
          return parseMacro(this);
        case "include":
          return parseInclude(this);
        case "from":
          return parseFrom(this);
        case "import":
          return parseImport(this);
        case "set":
          return this.parseSet();
        case "with":
          return this.parseWith();
        case "autoescape":
          return this.parseAutoescape();
        case "call":
          return parseCallBlock(this);
        case "filter":
          return parseFilterBlock(this);
      }
      this.tagStack.pop();
      pop = false;
      return this.failUnknownTag(token.value, token.lineno);
    } finally {
      if (pop) this.tagStack.pop();
    }
  }

  parseStatements(endTokens: string[], dropNeedle = false): N.Stmt[] {
    this.skipIf("operator::");
    this.expect("block_end");
    const result = this.subparse(endTokens);
    if (this.current.type === "eof") this.failUnknownTag(null, this.current.lineno, endTokens);
    if (dropNeedle) this.next();
    return result;
  }

  parseSet(): N.Assign | N.AssignBlock {
    const lineno = this.next().lineno;
    const target = this.parseAssignTarget({ withNamespace: true });
    if (this.skipIf("operator:=")) return { type: "Assign", target, node: parseTuple(this), lineno };
    const filter = parseFilter(this, null) as N.Filter | null;
    const body = this.parseStatements(["name:endset"], true);
    return { type: "AssignBlock", target, filter, body, lineno };
  }

  parseFor(): N.For {
    const lineno = this.expect("name:for").lineno;
    const target = this.parseAssignTarget({ extraEndRules: ["name:in"] });
    this.expect("name:in");
    const iter = parseTuple(this, { withCondexpr: false, extraEndRules: ["name:recursive"] });
    const test = this.skipIf("name:if") ? parseExpression(this) : null;
    const recursive = this.skipIf("name:recursive");
    const body = this.parseStatements(["name:endfor", "name:else"]);
    const else_ = this.next().value === "endfor" ? [] : this.parseStatements(["name:endfor"], true);
    return { type: "For", target, iter, body, else_, test, recursive, lineno };
  }

  parseIf(): N.If {
    const result: N.If = {
      type: "If",
      lineno: this.expect("name:if").lineno,
      test: null!,
      body: [],
      elif_: [],
      else_: [],
    };
    let node = result;
    while (true) {
      node.test = parseTuple(this, { withCondexpr: false });
      node.body = this.parseStatements(["name:elif", "name:else", "name:endif"]);
      node.elif_ = [];
      node.else_ = [];
      const token = this.next();
      if (this.test(token, "name:elif")) {
        node = { type: "If", lineno: this.current.lineno, test: null!, body: [], elif_: [], else_: [] };
        result.elif_.push(node);
        continue;
      } else if (this.test(token, "name:else")) {
        result.else_ = this.parseStatements(["name:endif"], true);
      }
      break;
    }
    return result;
  }

  parseWith(): N.With {
    const lineno = this.next().lineno;
    const targets: N.Expr[] = [];
    const values: N.Expr[] = [];
    while (this.current.type !== "block_end") {
      if (targets.length) this.expect("operator:,");
      const target = this.parseAssignTarget();
      setCtx(target, "param");
      targets.push(target);
      this.expect("operator:=");
      values.push(parseExpression(this));
    }
    const body = this.parseStatements(["name:endwith"], true);
    return { type: "With", targets, values, body, lineno };
  }

  parseAutoescape(): N.Scope {
    const lineno = this.next().lineno;
    const autoescape = parseExpression(this);
    const body = this.parseStatements(["name:endautoescape"], true);
    return { type: "Scope", body, autoescape, lineno };
  }

  parsePrint(): N.Output {
    const lineno = this.next().lineno;
    const nodes: N.Expr[] = [];
    while (this.current.type !== "block_end") {
      if (nodes.length) this.expect("operator:,");
      nodes.push(parseExpression(this));
    }
    return { type: "Output", nodes, lineno };
  }

  parseAssignTarget(
    options: { withTuple?: boolean; extraEndRules?: string[]; withNamespace?: boolean } = {},
  ): N.Expr {
    let target: N.Expr;
    if (options.withNamespace && this.isOp(this.look(), ".")) {
      const token = this.expect("name");
      this.next();
      const attr = this.expect("name");
      target = { type: "NSRef", name: token.value, attr: attr.value, lineno: token.lineno };
    } else {
      target = options.withTuple === false
        ? parsePrimary(this)
        : parseTuple(this, { simplified: true, extraEndRules: options.extraEndRules });
      setCtx(target, "store");
    }
    if (!canAssign(target)) {
      this.fail(`can't assign to '${target.type.toLowerCase()}'`, target.lineno);
    }
    return target;
  }

  // --- expressions ---------------------------------------------------------

  parseMath1(): N.Expr {
    let lineno = this.current.lineno;
    let left = parseConcat(this);
    while (this.isOp(this.current, "+") || this.isOp(this.current, "-")) {
      const op = this.next().value === "+" ? "add" : "sub";
      left = { type: "BinExpr", op, left, right: parseConcat(this), lineno };
      lineno = this.current.lineno;
    }
    return left;
  }

  parseMath2(): N.Expr {
    const ops: Record<string, N.BinOp> = { "*": "mul", "/": "div", "//": "floordiv", "%": "mod" };
    let lineno = this.current.lineno;
    let left = parsePow(this);
    while (this.current.type === "operator" && this.current.value in ops) {
      const op = ops[this.next().value];
      left = { type: "BinExpr", op, left, right: parsePow(this), lineno };
      lineno = this.current.lineno;
    }
    return left;
  }
}

/** A float literal keeps being a float when integral (`1.0`). */
export class FloatConst {
  constructor(readonly value: number) {}
}

export function floatConst(value: number): FloatConst {
  return new FloatConst(value);
}

function setCtx(node: N.Expr, ctx: N.NameContext): void {
  if (node.type === "Name") node.ctx = ctx;
  else if (node.type === "Tuple") {
    node.ctx = ctx;
    node.items.forEach((item) => setCtx(item, ctx));
  }
}

function canAssign(node: N.Expr): boolean {
  if (node.type === "Name") return !["true", "false", "none", "True", "False", "None"].includes(node.name);
  if (node.type === "NSRef") return true;
  if (node.type === "Tuple") return node.items.every(canAssign);
  return false;
}

/** The token types the parser tests against (`operator` tokens by their text's Jinja2 name). */
function tokenKind(token: Token): string {
  return token.type;
}

export function describe(token: Token): string {
  if (token.type === "name" || token.type === "operator") return token.value;
  return TOKEN_DESCRIPTIONS[token.type] ?? token.type;
}

function describeExpr(expr: string): string {
  const colon = expr.indexOf(":");
  if (colon >= 0) {
    const [type, value] = [expr.slice(0, colon), expr.slice(colon + 1)];
    return type === "name" || type === "operator" ? value : value;
  }
  return TOKEN_DESCRIPTIONS[expr] ?? (expr as TokenType);
}
