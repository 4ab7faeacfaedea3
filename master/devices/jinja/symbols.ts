/**
 * Jinja2's symbol tracking (jinja2/idtracking.py), ported: for every frame (the
 * template's top level, a block, a loop body, a macro...) which names it defines,
 * and how each is first loaded when the frame is entered — from the template
 * context (`resolve`), from the enclosing frame (`alias`), as not yet set
 * (`undefined`), or as a parameter. This is what makes Jinja2's scoping: a
 * `{% set %}` in a block is not seen by a block nested in it, a `{% set %}` in a
 * loop body does not outlive the iteration, and a name set later in a frame is
 * not yet set where it is read earlier.
 */
import type * as N from "./nodes.ts";
import { childNodes } from "./nodes.ts";

export type Load =
  | readonly ["param", null]
  | readonly ["resolve", string]
  | readonly ["alias", string]
  | readonly ["undefined", null];

export class Symbols {
  readonly level: number;
  refs = new Map<string, string>();
  loads = new Map<string, Load>();
  stores = new Set<string>();

  constructor(readonly parent: Symbols | null = null, level?: number) {
    this.level = level ?? (parent === null ? 0 : parent.level + 1);
  }

  analyzeNode(node: N.Node, forBranch?: "body" | "else" | "test"): void {
    new RootVisitor(this).visit(node, forBranch);
  }

  #defineRef(name: string, load?: Load): string {
    const ident = `l_${this.level}_${name}`;
    this.refs.set(name, ident);
    if (load) this.loads.set(ident, load);
    return ident;
  }

  findLoad(target: string): Load | null {
    return this.loads.get(target) ?? this.parent?.findLoad(target) ?? null;
  }

  findRef(name: string): string | null {
    return this.refs.get(name) ?? this.parent?.findRef(name) ?? null;
  }

  ref(name: string): string {
    const ref = this.findRef(name);
    if (ref === null) {
      throw new Error(`Tried to resolve a name to a reference that was unknown to the frame ('${name}')`);
    }
    return ref;
  }

  copy(): Symbols {
    const copy = new Symbols(this.parent, this.level);
    copy.refs = new Map(this.refs);
    copy.loads = new Map(this.loads);
    copy.stores = new Set(this.stores);
    return copy;
  }

  store(name: string): void {
    this.stores.add(name);
    if (this.refs.has(name)) return;
    if (this.parent !== null) {
      const outer = this.parent.findRef(name);
      if (outer !== null) {
        this.#defineRef(name, ["alias", outer]);
        return;
      }
    }
    this.#defineRef(name, ["undefined", null]);
  }

  declareParameter(name: string): string {
    this.stores.add(name);
    return this.#defineRef(name, ["param", null]);
  }

  load(name: string): void {
    if (this.findRef(name) === null) this.#defineRef(name, ["resolve", name]);
  }

  branchUpdate(branches: Symbols[]): void {
    const stores = new Map<string, number>();
    for (const branch of branches) {
      for (const target of branch.stores) {
        if (this.stores.has(target)) continue;
        stores.set(target, (stores.get(target) ?? 0) + 1);
      }
    }
    for (const branch of branches) {
      for (const [k, v] of branch.refs) this.refs.set(k, v);
      for (const [k, v] of branch.loads) this.loads.set(k, v);
      for (const s of branch.stores) this.stores.add(s);
    }
    for (const [name, count] of stores) {
      if (count === branches.length) continue;
      const target = this.findRef(name)!;
      if (this.parent !== null) {
        const outer = this.parent.findRef(name);
        if (outer !== null) {
          this.loads.set(target, ["alias", outer]);
          continue;
        }
      }
      this.loads.set(target, ["resolve", name]);
    }
  }

  /** Every name stored in this frame and the frames around it, with its reference. */
  dumpStores(): Map<string, string> {
    const out = new Map<string, string>();
    const collect = (node: Symbols | null) => {
      if (node === null) return;
      for (const name of [...node.stores].sort()) {
        if (!out.has(name)) out.set(name, this.findRef(name)!);
      }
      collect(node.parent);
    };
    collect(this);
    return out;
  }
}

class RootVisitor {
  readonly #symbols: FrameSymbolVisitor;

  constructor(symbols: Symbols) {
    this.#symbols = new FrameSymbolVisitor(symbols);
  }

  visit(node: N.Node, forBranch?: "body" | "else" | "test"): void {
    const visitor = this.#symbols;
    switch (node.type) {
      case "Template":
      case "Block":
      case "Macro":
      case "FilterBlock":
      case "Scope":
      case "If":
        for (const child of childNodes(node)) visitor.visit(child);
        return;
      case "AssignBlock":
        for (const child of node.body) visitor.visit(child);
        return;
      case "CallBlock":
        for (const child of [...node.args, ...node.defaults, ...node.body]) visitor.visit(child);
        return;
      case "For": {
        const branch = forBranch ?? "body";
        if (branch === "test") {
          visitor.visit(node.target, true);
          if (node.test) visitor.visit(node.test);
          return;
        }
        if (branch === "body") visitor.visit(node.target, true);
        for (const item of branch === "body" ? node.body : node.else_) visitor.visit(item);
        return;
      }
      case "With":
        for (const target of node.targets) visitor.visit(target);
        for (const child of node.body) visitor.visit(child);
        return;
      default:
        throw new Error(`Cannot find symbols for '${node.type}'`);
    }
  }
}

class FrameSymbolVisitor {
  constructor(public symbols: Symbols) {}

  visit(node: N.Node, storeAsParam = false): void {
    switch (node.type) {
      case "Name":
        if (storeAsParam || node.ctx === "param") this.symbols.declareParameter(node.name);
        else if (node.ctx === "store") this.symbols.store(node.name);
        else this.symbols.load(node.name);
        return;
      case "NSRef":
        this.symbols.load(node.name);
        return;
      case "If": {
        this.visit(node.test, storeAsParam);
        const original = this.symbols;
        const inner = (nodes: N.Node[]) => {
          const symbols = original.copy();
          this.symbols = symbols;
          for (const sub of nodes) this.visit(sub, storeAsParam);
          this.symbols = original;
          return symbols;
        };
        const body = inner(node.body);
        const elif = inner(node.elif_);
        const else_ = inner(node.else_);
        this.symbols.branchUpdate([body, elif, else_]);
        return;
      }
      case "Macro":
        this.symbols.store(node.name);
        return;
      case "Import":
        this.visit(node.template, storeAsParam);
        this.symbols.store(node.target);
        return;
      case "FromImport":
        this.visit(node.template, storeAsParam);
        for (const name of node.names) this.symbols.store(typeof name === "string" ? name : name[1]);
        return;
      case "Assign":
        this.visit(node.node, storeAsParam);
        this.visit(node.target, storeAsParam);
        return;
      case "For":
        this.visit(node.iter, storeAsParam);
        return;
      case "CallBlock":
        this.visit(node.call, storeAsParam);
        return;
      case "FilterBlock":
        this.visit(node.filter, storeAsParam);
        return;
      case "With":
        for (const value of node.values) this.visit(value);
        return;
      case "AssignBlock":
        this.visit(node.target, storeAsParam);
        return;
      case "Scope":
      case "Block":
        return;
      default:
        for (const child of childNodes(node)) this.visit(child, storeAsParam);
    }
  }
}

/**
 * Which of `names` the nodes read before setting them (jinja2's find_undeclared):
 * the special names `self`, `super`, `loop`, `caller`, `varargs`, `kwargs`. Blocks are not entered.
 */
export function findUndeclared(nodes: readonly N.Node[], names: readonly string[]): Set<string> {
  const wanted = new Set(names);
  const undeclared = new Set<string>();
  const visit = (node: N.Node): boolean => {
    if (node.type === "Block") return false;
    if (node.type === "Name") {
      if (node.ctx === "load" && wanted.has(node.name)) {
        undeclared.add(node.name);
        if (undeclared.size === wanted.size && [...wanted].every((n) => undeclared.has(n))) return true;
      } else {
        wanted.delete(node.name);
      }
      return false;
    }
    for (const child of childNodes(node)) if (visit(child)) return true;
    return false;
  };
  for (const node of nodes) if (visit(node)) break;
  return undeclared;
}
