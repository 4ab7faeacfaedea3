/**
 * Jinja2's parser (jinja2/parser.py, 3.1), production for production: the same
 * precedence (tests and filters bind tighter than arithmetic, `**` is left
 * associative), adjacent string literals joined, trailing commas accepted in
 * lists, tuples, dicts and calls, a test's single argument without parentheses,
 * and the same statements. No extensions, as in LAVA (no `do`, `break`, `continue`).
 */
import { JinjaError } from "./errors.ts";
import type { Token, TokenType } from "./lexer.ts";
import type * as N from "./nodes.ts";

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
const COMPARE_OPS: Record<string, N.CompareOp> = {
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
  #tokens: Token[];
  #pos = 0;
  readonly #name: string;
  readonly #tagStack: string[] = [];
  readonly #endTokenStack: string[][] = [];

  constructor(tokens: Token[], name: string) {
    this.#tokens = tokens;
    this.#name = name;
  }

  parse(): N.Template {
    return { type: "Template", body: this.#subparse(null), lineno: 1 };
  }

  // --- the token stream ----------------------------------------------------

  get #current(): Token {
    return this.#tokens[this.#pos];
  }

  #look(): Token {
    return this.#tokens[Math.min(this.#pos + 1, this.#tokens.length - 1)];
  }

  #next(): Token {
    const token = this.#tokens[this.#pos];
    if (token.type !== "eof") this.#pos++;
    return token;
  }

  /** `name:for`, `block_end`, `operator:,` style token tests. */
  #test(token: Token, expr: string): boolean {
    const colon = expr.indexOf(":");
    if (colon < 0) return tokenKind(token) === expr;
    return tokenKind(token) === expr.slice(0, colon) && token.value === expr.slice(colon + 1);
  }

  #skipIf(expr: string): boolean {
    if (this.#test(this.#current, expr)) {
      this.#next();
      return true;
    }
    return false;
  }

  #expect(expr: string): Token {
    const token = this.#current;
    if (!this.#test(token, expr)) {
      if (token.type === "eof") this.#fail(`unexpected end of template, expected '${describeExpr(expr)}'.`);
      this.#fail(`expected token '${describeExpr(expr)}', got '${describe(token)}'`);
    }
    return this.#next();
  }

  #isOp(token: Token, op: string): boolean {
    return token.type === "operator" && token.value === op;
  }

  #fail(message: string, lineno = this.#current.lineno, kind = "TemplateSyntaxError"): never {
    throw new JinjaError(kind, message, { name: this.#name, lineno });
  }

  #failUnknownTag(name: string | null, lineno: number, extraEnd?: string[]): never {
    const stack = extraEnd ? [...this.#endTokenStack, extraEnd] : this.#endTokenStack;
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
    if (this.#tagStack.length) {
      message.push(`The innermost block that needs to be closed is '${this.#tagStack.at(-1)}'.`);
    }
    this.#fail(message.join(" "), lineno);
  }

  // --- statements ----------------------------------------------------------

  #subparse(endTokens: string[] | null): N.Stmt[] {
    const body: N.Stmt[] = [];
    let data: (N.TemplateData | N.Expr)[] = [];
    if (endTokens) this.#endTokenStack.push(endTokens);
    const flush = () => {
      if (data.length) body.push({ type: "Output", nodes: data, lineno: data[0].lineno });
      data = [];
    };
    try {
      while (this.#current.type !== "eof") {
        const token = this.#current;
        if (token.type === "data") {
          data.push({ type: "TemplateData", data: token.value, lineno: token.lineno });
          this.#next();
        } else if (token.type === "variable_begin") {
          this.#next();
          data.push(this.#parseTuple({ withCondexpr: true }));
          this.#expect("variable_end");
        } else if (token.type === "block_begin") {
          flush();
          this.#next();
          if (endTokens && endTokens.some((e) => this.#test(this.#current, e))) return body;
          body.push(this.#parseStatement());
          this.#expect("block_end");
        } else {
          this.#fail("internal parsing error");
        }
      }
      flush();
    } finally {
      if (endTokens) this.#endTokenStack.pop();
    }
    return body;
  }

  #parseStatement(): N.Stmt {
    const token = this.#current;
    if (token.type !== "name") this.#fail("tag name expected", token.lineno);
    this.#tagStack.push(token.value);
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
          return this.#parseFor();
        case "if":
          return this.#parseIf();
        case "block":
          return this.#parseBlock();
        case "extends":
          return { type: "Extends", lineno: this.#next().lineno, template: this.#parseExpression() };
        case "print":
          return this.#parsePrint();
        case "macro":
          return this.#parseMacro();
        case "include":
          return this.#parseInclude();
        case "from":
          return this.#parseFrom();
        case "import":
          return this.#parseImport();
        case "set":
          return this.#parseSet();
        case "with":
          return this.#parseWith();
        case "autoescape":
          return this.#parseAutoescape();
        case "call":
          return this.#parseCallBlock();
        case "filter":
          return this.#parseFilterBlock();
      }
      this.#tagStack.pop();
      pop = false;
      return this.#failUnknownTag(token.value, token.lineno);
    } finally {
      if (pop) this.#tagStack.pop();
    }
  }

  #parseStatements(endTokens: string[], dropNeedle = false): N.Stmt[] {
    this.#skipIf("operator::");
    this.#expect("block_end");
    const result = this.#subparse(endTokens);
    if (this.#current.type === "eof") this.#failUnknownTag(null, this.#current.lineno, endTokens);
    if (dropNeedle) this.#next();
    return result;
  }

  #parseSet(): N.Assign | N.AssignBlock {
    const lineno = this.#next().lineno;
    const target = this.#parseAssignTarget({ withNamespace: true });
    if (this.#skipIf("operator:=")) return { type: "Assign", target, node: this.#parseTuple(), lineno };
    const filter = this.#parseFilter(null) as N.Filter | null;
    const body = this.#parseStatements(["name:endset"], true);
    return { type: "AssignBlock", target, filter, body, lineno };
  }

  #parseFor(): N.For {
    const lineno = this.#expect("name:for").lineno;
    const target = this.#parseAssignTarget({ extraEndRules: ["name:in"] });
    this.#expect("name:in");
    const iter = this.#parseTuple({ withCondexpr: false, extraEndRules: ["name:recursive"] });
    const test = this.#skipIf("name:if") ? this.#parseExpression() : null;
    const recursive = this.#skipIf("name:recursive");
    const body = this.#parseStatements(["name:endfor", "name:else"]);
    const else_ = this.#next().value === "endfor" ? [] : this.#parseStatements(["name:endfor"], true);
    return { type: "For", target, iter, body, else_, test, recursive, lineno };
  }

  #parseIf(): N.If {
    const result: N.If = {
      type: "If",
      lineno: this.#expect("name:if").lineno,
      test: null!,
      body: [],
      elif_: [],
      else_: [],
    };
    let node = result;
    while (true) {
      node.test = this.#parseTuple({ withCondexpr: false });
      node.body = this.#parseStatements(["name:elif", "name:else", "name:endif"]);
      node.elif_ = [];
      node.else_ = [];
      const token = this.#next();
      if (this.#test(token, "name:elif")) {
        node = { type: "If", lineno: this.#current.lineno, test: null!, body: [], elif_: [], else_: [] };
        result.elif_.push(node);
        continue;
      } else if (this.#test(token, "name:else")) {
        result.else_ = this.#parseStatements(["name:endif"], true);
      }
      break;
    }
    return result;
  }

  #parseWith(): N.With {
    const lineno = this.#next().lineno;
    const targets: N.Expr[] = [];
    const values: N.Expr[] = [];
    while (this.#current.type !== "block_end") {
      if (targets.length) this.#expect("operator:,");
      const target = this.#parseAssignTarget();
      setCtx(target, "param");
      targets.push(target);
      this.#expect("operator:=");
      values.push(this.#parseExpression());
    }
    const body = this.#parseStatements(["name:endwith"], true);
    return { type: "With", targets, values, body, lineno };
  }

  #parseAutoescape(): N.Scope {
    const lineno = this.#next().lineno;
    const autoescape = this.#parseExpression();
    const body = this.#parseStatements(["name:endautoescape"], true);
    return { type: "Scope", body, autoescape, lineno };
  }

  #parseBlock(): N.Block {
    const lineno = this.#next().lineno;
    const name = this.#expect("name").value;
    const scoped = this.#skipIf("name:scoped");
    const required = this.#skipIf("name:required");
    if (this.#isOp(this.#current, "-")) {
      this.#fail(
        "Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.",
      );
    }
    const body = this.#parseStatements(["name:endblock"], true);
    if (
      required &&
      !body.every((s) => s.type === "Output" && s.nodes.every((n) => n.type === "TemplateData" && /^\s+$/.test(n.data)))
    ) {
      this.#fail("Required blocks can only contain comments or whitespace");
    }
    this.#skipIf(`name:${name}`);
    return { type: "Block", name, body, scoped, required, lineno };
  }

  #parseImportContext(fallback: boolean): boolean {
    if (
      (this.#test(this.#current, "name:with") || this.#test(this.#current, "name:without")) &&
      this.#test(this.#look(), "name:context")
    ) {
      const withContext = this.#next().value === "with";
      this.#next();
      return withContext;
    }
    return fallback;
  }

  #parseInclude(): N.Include {
    const lineno = this.#next().lineno;
    const template = this.#parseExpression();
    let ignoreMissing = false;
    if (this.#test(this.#current, "name:ignore") && this.#test(this.#look(), "name:missing")) {
      ignoreMissing = true;
      this.#next();
      this.#next();
    }
    return { type: "Include", template, ignoreMissing, withContext: this.#parseImportContext(true), lineno };
  }

  #parseImport(): N.Import {
    const lineno = this.#next().lineno;
    const template = this.#parseExpression();
    this.#expect("name:as");
    const target = this.#expect("name").value;
    return { type: "Import", template, target, withContext: this.#parseImportContext(false), lineno };
  }

  #parseFrom(): N.FromImport {
    const lineno = this.#next().lineno;
    const template = this.#parseExpression();
    this.#expect("name:import");
    const names: (string | [string, string])[] = [];
    let withContext: boolean | undefined;
    const parseContext = () => {
      if (
        (this.#current.value === "with" || this.#current.value === "without") &&
        this.#test(this.#look(), "name:context")
      ) {
        withContext = this.#next().value === "with";
        this.#next();
        return true;
      }
      return false;
    };
    while (true) {
      if (names.length) this.#expect("operator:,");
      if (this.#current.type === "name") {
        if (parseContext()) break;
        const target = this.#expect("name");
        if (target.value.startsWith("_")) {
          this.#fail("names starting with an underline can not be imported", target.lineno, "TemplateAssertionError");
        }
        if (this.#skipIf("name:as")) names.push([target.value, this.#expect("name").value]);
        else names.push(target.value);
        if (parseContext() || !this.#isOp(this.#current, ",")) break;
      } else {
        this.#expect("name");
      }
    }
    return { type: "FromImport", template, names, withContext: withContext ?? false, lineno };
  }

  #parseSignature(): { args: N.Name[]; defaults: N.Expr[] } {
    const args: N.Name[] = [];
    const defaults: N.Expr[] = [];
    this.#expect("operator:(");
    while (!this.#isOp(this.#current, ")")) {
      if (args.length) this.#expect("operator:,");
      const token = this.#expect("name");
      const arg: N.Name = { type: "Name", name: token.value, ctx: "param", lineno: token.lineno };
      if (this.#skipIf("operator:=")) defaults.push(this.#parseExpression());
      else if (defaults.length) this.#fail("non-default argument follows default argument");
      args.push(arg);
    }
    this.#expect("operator:)");
    return { args, defaults };
  }

  #parseCallBlock(): N.CallBlock {
    const lineno = this.#next().lineno;
    const signature = this.#isOp(this.#current, "(") ? this.#parseSignature() : { args: [], defaults: [] };
    const call = this.#parseExpression();
    if (call.type !== "Call") this.#fail("expected call", lineno);
    const body = this.#parseStatements(["name:endcall"], true);
    return { type: "CallBlock", call, ...signature, body, lineno };
  }

  #parseFilterBlock(): N.FilterBlock {
    const lineno = this.#next().lineno;
    const filter = this.#parseFilter(null, true) as N.Filter;
    const body = this.#parseStatements(["name:endfilter"], true);
    return { type: "FilterBlock", filter, body, lineno };
  }

  #parseMacro(): N.Macro {
    const lineno = this.#next().lineno;
    const name = this.#expect("name").value;
    const signature = this.#parseSignature();
    const body = this.#parseStatements(["name:endmacro"], true);
    return { type: "Macro", name, ...signature, body, lineno };
  }

  #parsePrint(): N.Output {
    const lineno = this.#next().lineno;
    const nodes: N.Expr[] = [];
    while (this.#current.type !== "block_end") {
      if (nodes.length) this.#expect("operator:,");
      nodes.push(this.#parseExpression());
    }
    return { type: "Output", nodes, lineno };
  }

  #parseAssignTarget(
    options: { withTuple?: boolean; extraEndRules?: string[]; withNamespace?: boolean } = {},
  ): N.Expr {
    let target: N.Expr;
    if (options.withNamespace && this.#isOp(this.#look(), ".")) {
      const token = this.#expect("name");
      this.#next();
      const attr = this.#expect("name");
      target = { type: "NSRef", name: token.value, attr: attr.value, lineno: token.lineno };
    } else {
      target = options.withTuple === false
        ? this.#parsePrimary()
        : this.#parseTuple({ simplified: true, extraEndRules: options.extraEndRules });
      setCtx(target, "store");
    }
    if (!canAssign(target)) {
      this.#fail(`can't assign to '${target.type.toLowerCase()}'`, target.lineno);
    }
    return target;
  }

  // --- expressions ---------------------------------------------------------

  #parseExpression(withCondexpr = true): N.Expr {
    return withCondexpr ? this.#parseCondexpr() : this.#parseOr();
  }

  #parseCondexpr(): N.Expr {
    let lineno = this.#current.lineno;
    let expr1 = this.#parseOr();
    while (this.#skipIf("name:if")) {
      const test = this.#parseOr();
      const expr2 = this.#skipIf("name:else") ? this.#parseCondexpr() : null;
      expr1 = { type: "CondExpr", test, expr1, expr2, lineno };
      lineno = this.#current.lineno;
    }
    return expr1;
  }

  #parseOr(): N.Expr {
    let lineno = this.#current.lineno;
    let left = this.#parseAnd();
    while (this.#skipIf("name:or")) {
      left = { type: "BinExpr", op: "or", left, right: this.#parseAnd(), lineno };
      lineno = this.#current.lineno;
    }
    return left;
  }

  #parseAnd(): N.Expr {
    let lineno = this.#current.lineno;
    let left = this.#parseNot();
    while (this.#skipIf("name:and")) {
      left = { type: "BinExpr", op: "and", left, right: this.#parseNot(), lineno };
      lineno = this.#current.lineno;
    }
    return left;
  }

  #parseNot(): N.Expr {
    if (this.#test(this.#current, "name:not")) {
      const lineno = this.#next().lineno;
      return { type: "UnaryExpr", op: "not", node: this.#parseNot(), lineno };
    }
    return this.#parseCompare();
  }

  #parseCompare(): N.Expr {
    let lineno = this.#current.lineno;
    const expr = this.#parseMath1();
    const ops: N.Operand[] = [];
    while (true) {
      const token = this.#current;
      if (token.type === "operator" && token.value in COMPARE_OPS) {
        this.#next();
        ops.push({ type: "Operand", op: COMPARE_OPS[token.value], expr: this.#parseMath1() });
      } else if (this.#skipIf("name:in")) {
        ops.push({ type: "Operand", op: "in", expr: this.#parseMath1() });
      } else if (this.#test(token, "name:not") && this.#test(this.#look(), "name:in")) {
        this.#next();
        this.#next();
        ops.push({ type: "Operand", op: "notin", expr: this.#parseMath1() });
      } else {
        break;
      }
      lineno = this.#current.lineno;
    }
    return ops.length ? { type: "Compare", expr, ops, lineno } : expr;
  }

  #parseMath1(): N.Expr {
    let lineno = this.#current.lineno;
    let left = this.#parseConcat();
    while (this.#isOp(this.#current, "+") || this.#isOp(this.#current, "-")) {
      const op = this.#next().value === "+" ? "add" : "sub";
      left = { type: "BinExpr", op, left, right: this.#parseConcat(), lineno };
      lineno = this.#current.lineno;
    }
    return left;
  }

  #parseConcat(): N.Expr {
    const lineno = this.#current.lineno;
    const nodes = [this.#parseMath2()];
    while (this.#isOp(this.#current, "~")) {
      this.#next();
      nodes.push(this.#parseMath2());
    }
    return nodes.length === 1 ? nodes[0] : { type: "Concat", nodes, lineno };
  }

  #parseMath2(): N.Expr {
    const ops: Record<string, N.BinOp> = { "*": "mul", "/": "div", "//": "floordiv", "%": "mod" };
    let lineno = this.#current.lineno;
    let left = this.#parsePow();
    while (this.#current.type === "operator" && this.#current.value in ops) {
      const op = ops[this.#next().value];
      left = { type: "BinExpr", op, left, right: this.#parsePow(), lineno };
      lineno = this.#current.lineno;
    }
    return left;
  }

  #parsePow(): N.Expr {
    let lineno = this.#current.lineno;
    let left = this.#parseUnary();
    while (this.#isOp(this.#current, "**")) {
      this.#next();
      left = { type: "BinExpr", op: "pow", left, right: this.#parseUnary(), lineno };
      lineno = this.#current.lineno;
    }
    return left;
  }

  #parseUnary(withFilter = true): N.Expr {
    const token = this.#current;
    let node: N.Expr;
    if (this.#isOp(token, "-") || this.#isOp(token, "+")) {
      this.#next();
      node = {
        type: "UnaryExpr",
        op: token.value === "-" ? "neg" : "pos",
        node: this.#parseUnary(false),
        lineno: token.lineno,
      };
    } else {
      node = this.#parsePrimary();
    }
    node = this.#parsePostfix(node);
    if (withFilter) node = this.#parseFilterExpr(node);
    return node;
  }

  #parsePrimary(): N.Expr {
    const token = this.#current;
    if (token.type === "name") {
      this.#next();
      if (["true", "false", "True", "False"].includes(token.value)) {
        return { type: "Const", value: token.value === "true" || token.value === "True", lineno: token.lineno };
      }
      if (token.value === "none" || token.value === "None") return { type: "Const", value: null, lineno: token.lineno };
      return { type: "Name", name: token.value, ctx: "load", lineno: token.lineno };
    }
    if (token.type === "string") {
      this.#next();
      // Adjacent string literals are one string, as in Python.
      let value = token.literal as string;
      while (this.#current.type === "string") value += this.#next().literal as string;
      return { type: "Const", value, lineno: token.lineno };
    }
    if (token.type === "integer" || token.type === "float") {
      this.#next();
      return {
        type: "Const",
        value: token.type === "float" ? floatConst(token.literal as number) : token.literal,
        lineno: token.lineno,
      };
    }
    if (this.#isOp(token, "(")) {
      this.#next();
      const node = this.#parseTuple({ explicitParentheses: true });
      this.#expect("operator:)");
      return node;
    }
    if (this.#isOp(token, "[")) return this.#parseList();
    if (this.#isOp(token, "{")) return this.#parseDict();
    this.#fail(`unexpected '${describe(token)}'`, token.lineno);
  }

  #parseTuple(
    options: { simplified?: boolean; withCondexpr?: boolean; extraEndRules?: string[]; explicitParentheses?: boolean } =
      {},
  ): N.Expr {
    let lineno = this.#current.lineno;
    const parse = options.simplified
      ? () => this.#parsePrimary()
      : () => this.#parseExpression(options.withCondexpr ?? true);
    const args: N.Expr[] = [];
    let isTuple = false;
    while (true) {
      if (args.length) this.#expect("operator:,");
      if (this.#isTupleEnd(options.extraEndRules)) break;
      args.push(parse());
      if (this.#isOp(this.#current, ",")) isTuple = true;
      else break;
      lineno = this.#current.lineno;
    }
    if (!isTuple) {
      if (args.length) return args[0];
      if (!options.explicitParentheses) {
        this.#fail(`Expected an expression, got '${describe(this.#current)}'`);
      }
    }
    return { type: "Tuple", items: args, ctx: "load", lineno };
  }

  #isTupleEnd(extraEndRules?: string[]): boolean {
    const current = this.#current;
    if (current.type === "variable_end" || current.type === "block_end" || this.#isOp(current, ")")) return true;
    return extraEndRules?.some((rule) => this.#test(current, rule)) ?? false;
  }

  #parseList(): N.ListNode {
    const token = this.#expect("operator:[");
    const items: N.Expr[] = [];
    while (!this.#isOp(this.#current, "]")) {
      if (items.length) this.#expect("operator:,");
      if (this.#isOp(this.#current, "]")) break;
      items.push(this.#parseExpression());
    }
    this.#expect("operator:]");
    return { type: "List", items, lineno: token.lineno };
  }

  #parseDict(): N.DictNode {
    const token = this.#expect("operator:{");
    const items: N.Pair[] = [];
    while (!this.#isOp(this.#current, "}")) {
      if (items.length) this.#expect("operator:,");
      if (this.#isOp(this.#current, "}")) break;
      const key = this.#parseExpression();
      this.#expect("operator::");
      const value = this.#parseExpression();
      items.push({ type: "Pair", key, value, lineno: key.lineno });
    }
    this.#expect("operator:}");
    return { type: "Dict", items, lineno: token.lineno };
  }

  #parsePostfix(node: N.Expr): N.Expr {
    while (true) {
      if (this.#isOp(this.#current, ".") || this.#isOp(this.#current, "[")) node = this.#parseSubscript(node);
      else if (this.#isOp(this.#current, "(")) node = this.#parseCall(node);
      else return node;
    }
  }

  #parseFilterExpr(node: N.Expr): N.Expr {
    while (true) {
      if (this.#isOp(this.#current, "|")) node = this.#parseFilter(node)!;
      else if (this.#test(this.#current, "name:is")) node = this.#parseTest(node);
      else if (this.#isOp(this.#current, "(")) node = this.#parseCall(node);
      else return node;
    }
  }

  #parseSubscript(node: N.Expr): N.Expr {
    const token = this.#next();
    if (token.value === ".") {
      const attr = this.#next();
      if (attr.type === "name") return { type: "Getattr", node, attr: attr.value, lineno: token.lineno };
      if (attr.type !== "integer") this.#fail("expected name or number", attr.lineno);
      return {
        type: "Getitem",
        node,
        arg: { type: "Const", value: attr.literal, lineno: attr.lineno },
        lineno: token.lineno,
      };
    }
    const args: N.Expr[] = [];
    while (!this.#isOp(this.#current, "]")) {
      if (args.length) this.#expect("operator:,");
      args.push(this.#parseSubscribed());
    }
    this.#expect("operator:]");
    const arg: N.Expr = args.length === 1 ? args[0] : { type: "Tuple", items: args, ctx: "load", lineno: token.lineno };
    return { type: "Getitem", node, arg, lineno: token.lineno };
  }

  #parseSubscribed(): N.Expr {
    const lineno = this.#current.lineno;
    const args: (N.Expr | null)[] = [];
    if (this.#isOp(this.#current, ":")) {
      this.#next();
      args.push(null);
    } else {
      const node = this.#parseExpression();
      if (!this.#isOp(this.#current, ":")) return node;
      this.#next();
      args.push(node);
    }
    const endsSlot = () => this.#isOp(this.#current, "]") || this.#isOp(this.#current, ",");
    if (this.#isOp(this.#current, ":")) args.push(null);
    else if (!endsSlot()) args.push(this.#parseExpression());
    else args.push(null);
    if (this.#isOp(this.#current, ":")) {
      this.#next();
      args.push(endsSlot() ? null : this.#parseExpression());
    } else {
      args.push(null);
    }
    return { type: "Slice", start: args[0], stop: args[1], step: args[2], lineno };
  }

  #parseCallArgs(): N.CallArgs {
    const token = this.#expect("operator:(");
    const args: N.Expr[] = [];
    const kwargs: N.Keyword[] = [];
    let dynArgs: N.Expr | null = null;
    let dynKwargs: N.Expr | null = null;
    let requireComma = false;
    const ensure = (ok: boolean) => {
      if (!ok) this.#fail("invalid syntax for function call expression", token.lineno);
    };
    while (!this.#isOp(this.#current, ")")) {
      if (requireComma) {
        this.#expect("operator:,");
        if (this.#isOp(this.#current, ")")) break;
      }
      if (this.#isOp(this.#current, "*")) {
        ensure(dynArgs === null && dynKwargs === null);
        this.#next();
        dynArgs = this.#parseExpression();
      } else if (this.#isOp(this.#current, "**")) {
        ensure(dynKwargs === null);
        this.#next();
        dynKwargs = this.#parseExpression();
      } else if (this.#current.type === "name" && this.#isOp(this.#look(), "=")) {
        ensure(dynKwargs === null);
        const key = this.#next().value;
        this.#next();
        kwargs.push({ type: "Keyword", key, value: this.#parseExpression() });
      } else {
        ensure(dynArgs === null && dynKwargs === null && kwargs.length === 0);
        args.push(this.#parseExpression());
      }
      requireComma = true;
    }
    this.#expect("operator:)");
    return { args, kwargs, dynArgs, dynKwargs };
  }

  #parseCall(node: N.Expr): N.Call {
    const lineno = this.#current.lineno;
    return { type: "Call", node, ...this.#parseCallArgs(), lineno };
  }

  #parseFilter(node: N.Expr | null, startInline = false): N.Expr | null {
    while (this.#isOp(this.#current, "|") || startInline) {
      if (!startInline) this.#next();
      const token = this.#expect("name");
      let name = token.value;
      while (this.#isOp(this.#current, ".")) {
        this.#next();
        name += "." + this.#expect("name").value;
      }
      const args = this.#isOp(this.#current, "(")
        ? this.#parseCallArgs()
        : { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
      node = { type: "Filter", node, name, ...args, lineno: token.lineno };
      startInline = false;
    }
    return node;
  }

  #parseTest(node: N.Expr): N.Expr {
    const token = this.#next();
    const negated = this.#skipIf("name:not");
    let name = this.#expect("name").value;
    while (this.#isOp(this.#current, ".")) {
      this.#next();
      name += "." + this.#expect("name").value;
    }
    let args: N.CallArgs = { args: [], kwargs: [], dynArgs: null, dynKwargs: null };
    const current = this.#current;
    if (this.#isOp(current, "(")) {
      args = this.#parseCallArgs();
    } else if (
      (["name", "string", "integer", "float"].includes(current.type) || this.#isOp(current, "(") ||
        this.#isOp(current, "[") || this.#isOp(current, "{")) &&
      !["name:else", "name:or", "name:and"].some((e) => this.#test(current, e))
    ) {
      if (this.#test(current, "name:is")) this.#fail("You cannot chain multiple tests with is");
      args = { ...args, args: [this.#parsePostfix(this.#parsePrimary())] };
    }
    const test: N.Test = { type: "Test", node, name, ...args, lineno: token.lineno };
    return negated ? { type: "UnaryExpr", op: "not", node: test, lineno: token.lineno } : test;
  }
}

/** A float literal keeps being a float when integral (`1.0`). */
export class FloatConst {
  constructor(readonly value: number) {}
}

function floatConst(value: number): FloatConst {
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

function describe(token: Token): string {
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
