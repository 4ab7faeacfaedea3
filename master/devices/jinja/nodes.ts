/**
 * The template syntax tree, node for node as jinja2/nodes.py has it (field order
 * included: symbol tracking visits fields in that order).
 */

export type Expr =
  | Name
  | NSRef
  | Const
  | TupleNode
  | ListNode
  | DictNode
  | CondExpr
  | BinExpr
  | UnaryExpr
  | Concat
  | Compare
  | Getattr
  | Getitem
  | Slice
  | Call
  | Filter
  | Test;

export type Stmt =
  | Output
  | For
  | If
  | Macro
  | CallBlock
  | FilterBlock
  | With
  | Block
  | Extends
  | Include
  | Import
  | FromImport
  | Assign
  | AssignBlock
  | Scope;

export type Node = Expr | Stmt | TemplateData | Keyword | Pair | Operand | Template;

export interface Template {
  readonly type: "Template";
  readonly body: Stmt[];
  readonly lineno: number;
}

export interface TemplateData {
  readonly type: "TemplateData";
  readonly data: string;
  readonly lineno: number;
}

export interface Output {
  readonly type: "Output";
  readonly nodes: (TemplateData | Expr)[];
  readonly lineno: number;
}

export interface For {
  readonly type: "For";
  readonly target: Expr;
  readonly iter: Expr;
  readonly body: Stmt[];
  readonly else_: Stmt[];
  readonly test: Expr | null;
  readonly recursive: boolean;
  readonly lineno: number;
}

export interface If {
  readonly type: "If";
  test: Expr;
  body: Stmt[];
  elif_: If[];
  else_: Stmt[];
  readonly lineno: number;
}

export interface Macro {
  readonly type: "Macro";
  readonly name: string;
  readonly args: Name[];
  readonly defaults: Expr[];
  readonly body: Stmt[];
  readonly lineno: number;
}

export interface CallBlock {
  readonly type: "CallBlock";
  readonly call: Call;
  readonly args: Name[];
  readonly defaults: Expr[];
  readonly body: Stmt[];
  readonly lineno: number;
}

export interface FilterBlock {
  readonly type: "FilterBlock";
  readonly body: Stmt[];
  readonly filter: Filter;
  readonly lineno: number;
}

export interface With {
  readonly type: "With";
  readonly targets: Expr[];
  readonly values: Expr[];
  readonly body: Stmt[];
  readonly lineno: number;
}

export interface Block {
  readonly type: "Block";
  readonly name: string;
  readonly body: Stmt[];
  readonly scoped: boolean;
  readonly required: boolean;
  readonly lineno: number;
}

export interface Extends {
  readonly type: "Extends";
  readonly template: Expr;
  readonly lineno: number;
}

export interface Include {
  readonly type: "Include";
  readonly template: Expr;
  readonly withContext: boolean;
  readonly ignoreMissing: boolean;
  readonly lineno: number;
}

export interface Import {
  readonly type: "Import";
  readonly template: Expr;
  readonly target: string;
  readonly withContext: boolean;
  readonly lineno: number;
}

export interface FromImport {
  readonly type: "FromImport";
  readonly template: Expr;
  /** A name, or [name, alias]. */
  readonly names: (string | [string, string])[];
  readonly withContext: boolean;
  readonly lineno: number;
}

export interface Assign {
  readonly type: "Assign";
  readonly target: Expr;
  readonly node: Expr;
  readonly lineno: number;
}

export interface AssignBlock {
  readonly type: "AssignBlock";
  readonly target: Expr;
  readonly filter: Filter | null;
  readonly body: Stmt[];
  readonly lineno: number;
}

/** A scope of its own (`{% autoescape %}`), with the autoescape setting when given. */
export interface Scope {
  readonly type: "Scope";
  readonly body: Stmt[];
  readonly autoescape: Expr | null;
  readonly lineno: number;
}

export type NameContext = "load" | "store" | "param";

export interface Name {
  readonly type: "Name";
  readonly name: string;
  ctx: NameContext;
  readonly lineno: number;
}

export interface NSRef {
  readonly type: "NSRef";
  readonly name: string;
  readonly attr: string;
  readonly lineno: number;
}

export interface Const {
  readonly type: "Const";
  readonly value: unknown;
  readonly lineno: number;
}

export interface TupleNode {
  readonly type: "Tuple";
  readonly items: Expr[];
  ctx: NameContext;
  readonly lineno: number;
}

export interface ListNode {
  readonly type: "List";
  readonly items: Expr[];
  readonly lineno: number;
}

export interface Pair {
  readonly type: "Pair";
  readonly key: Expr;
  readonly value: Expr;
  readonly lineno: number;
}

export interface DictNode {
  readonly type: "Dict";
  readonly items: Pair[];
  readonly lineno: number;
}

export interface CondExpr {
  readonly type: "CondExpr";
  readonly test: Expr;
  readonly expr1: Expr;
  readonly expr2: Expr | null;
  readonly lineno: number;
}

export type BinOp = "add" | "sub" | "mul" | "div" | "floordiv" | "mod" | "pow" | "and" | "or";

export interface BinExpr {
  readonly type: "BinExpr";
  readonly op: BinOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly lineno: number;
}

export interface UnaryExpr {
  readonly type: "UnaryExpr";
  readonly op: "not" | "neg" | "pos";
  readonly node: Expr;
  readonly lineno: number;
}

export interface Concat {
  readonly type: "Concat";
  readonly nodes: Expr[];
  readonly lineno: number;
}

export type CompareOp = "eq" | "ne" | "lt" | "lteq" | "gt" | "gteq" | "in" | "notin";

export interface Operand {
  readonly type: "Operand";
  readonly op: CompareOp;
  readonly expr: Expr;
}

export interface Compare {
  readonly type: "Compare";
  readonly expr: Expr;
  readonly ops: Operand[];
  readonly lineno: number;
}

export interface Getattr {
  readonly type: "Getattr";
  readonly node: Expr;
  readonly attr: string;
  readonly lineno: number;
}

export interface Getitem {
  readonly type: "Getitem";
  readonly node: Expr;
  readonly arg: Expr;
  readonly lineno: number;
}

export interface Slice {
  readonly type: "Slice";
  readonly start: Expr | null;
  readonly stop: Expr | null;
  readonly step: Expr | null;
  readonly lineno: number;
}

export interface Keyword {
  readonly type: "Keyword";
  readonly key: string;
  readonly value: Expr;
}

export interface CallArgs {
  readonly args: Expr[];
  readonly kwargs: Keyword[];
  readonly dynArgs: Expr | null;
  readonly dynKwargs: Expr | null;
}

export interface Call extends CallArgs {
  readonly type: "Call";
  readonly node: Expr;
  readonly lineno: number;
}

export interface Filter extends CallArgs {
  readonly type: "Filter";
  /** Null in a filter block or `{% set x | f %}`: the block's text is filtered. */
  readonly node: Expr | null;
  readonly name: string;
  readonly lineno: number;
}

export interface Test extends CallArgs {
  readonly type: "Test";
  readonly node: Expr;
  readonly name: string;
  readonly lineno: number;
}

/** The child nodes in jinja2's field order (`Node.iter_child_nodes`). */
export function childNodes(node: Node): Node[] {
  const list = (...items: (Node | Node[] | null)[]) =>
    items.flatMap((item) => (item === null ? [] : Array.isArray(item) ? item : [item]));
  switch (node.type) {
    case "Template":
      return node.body;
    case "TemplateData":
    case "Name":
    case "NSRef":
    case "Const":
      return [];
    case "Output":
      return node.nodes;
    case "For":
      return list(node.target, node.iter, node.body, node.else_, node.test);
    case "If":
      return list(node.test, node.body, node.elif_, node.else_);
    case "Macro":
      return list(node.args, node.defaults, node.body);
    case "CallBlock":
      return list(node.call, node.args, node.defaults, node.body);
    case "FilterBlock":
      return list(node.body, node.filter);
    case "With":
      return list(node.targets, node.values, node.body);
    case "Block":
      return node.body;
    case "Extends":
    case "Include":
    case "Import":
    case "FromImport":
      return [node.template];
    case "Assign":
      return [node.target, node.node];
    case "AssignBlock":
      return list(node.target, node.filter, node.body);
    case "Scope":
      return list(node.autoescape, node.body);
    case "Tuple":
    case "List":
      return node.items;
    case "Dict":
      return node.items;
    case "Pair":
      return [node.key, node.value];
    case "CondExpr":
      return list(node.test, node.expr1, node.expr2);
    case "BinExpr":
      return [node.left, node.right];
    case "UnaryExpr":
      return [node.node];
    case "Concat":
      return node.nodes;
    case "Compare":
      return list(node.expr, node.ops);
    case "Operand":
      return [node.expr];
    case "Getattr":
      return [node.node];
    case "Getitem":
      return [node.node, node.arg];
    case "Slice":
      return list(node.start, node.stop, node.step);
    case "Keyword":
      return [node.value];
    case "Call":
      return list(node.node, node.args, node.kwargs, node.dynArgs, node.dynKwargs);
    case "Filter":
    case "Test":
      return list(node.node, node.args, node.kwargs, node.dynArgs, node.dynKwargs);
  }
}

/** Every node of a kind under `node` (not `node` itself), depth first, as `Node.find_all`. */
export function findAll<T extends Node["type"]>(node: Node, type: T): Extract<Node, { type: T }>[] {
  const found: Extract<Node, { type: T }>[] = [];
  const walk = (n: Node) => {
    for (const child of childNodes(n)) {
      if (child.type === type) found.push(child as Extract<Node, { type: T }>);
      walk(child);
    }
  };
  walk(node);
  return found;
}
