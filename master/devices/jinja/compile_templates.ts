/**
 * Compiling how templates use one another (jinja2/compiler.py's visit_Extends,
 * visit_Block, visit_Include, visit_Import and visit_FromImport): inheritance with the
 * child's top level first, blocks from the context, includes with the includer's
 * variables, imports without them.
 */
import { JinjaError } from "./errors.ts";
import * as N from "./nodes.ts";
import { enter, newContext, type RuntimeTemplate, TemplateModule } from "./runtime.ts";
import { visitExpr } from "./compile_expressions.ts";
import { stringRepr, Undefined } from "./values.ts";
import { CodeGenerator, CompilerExit, Exec, Frame, moduleOf, Rt } from "./compiler.ts";

export function visitExtends(gen: CodeGenerator, node: N.Extends, frame: Frame): Exec {
  if (!frame.toplevel) gen.fail("cannot use extend from a non top-level scope", node.lineno);
  const twice = (): never => {
    throw new JinjaError("TemplateRuntimeError", "extended multiple times");
  };
  let guard: Exec | null = null;
  if (gen.extendsSoFar > 0) {
    if (gen.hasKnownExtends) throw new CompilerExit(twice);
    guard = (rt) => {
      if (rt.root.parent) twice();
    };
  }
  const template = visitExpr(gen, node.template, frame);
  const name = gen.name;
  if (frame.rootlevel) gen.hasKnownExtends = true;
  gen.extendsSoFar++;
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

export function visitBlock(gen: CodeGenerator, node: N.Block, frame: Frame): Exec {
  let check = false;
  if (frame.toplevel) {
    if (gen.hasKnownExtends) return () => {};
    if (gen.extendsSoFar > 0) check = true;
  }
  const scoped = node.scoped ? gen.localContext(frame) : null;
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

export function visitInclude(gen: CodeGenerator, node: N.Include, frame: Frame): Exec {
  const template = visitExpr(gen, node.template, frame);
  const locals = node.withContext ? gen.localContext(frame) : null;
  const name = gen.name;
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

export function importModule(
  gen: CodeGenerator,
  node: N.Import | N.FromImport,
  frame: Frame,
): (rt: Rt) => TemplateModule {
  const template = visitExpr(gen, node.template, frame);
  const locals = node.withContext ? gen.localContext(frame) : null;
  const name = gen.name;
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

export function visitImport(gen: CodeGenerator, node: N.Import, frame: Frame): Exec {
  const module = importModule(gen, node, frame);
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

export function visitFromImport(gen: CodeGenerator, node: N.FromImport, frame: Frame): Exec {
  const module = importModule(gen, node, frame);
  const names = node.names.map((n) => (typeof n === "string" ? [n, n] : n));
  const refs = names.map(([, alias]) => frame.symbols.ref(alias));
  const toplevel = frame.toplevel;
  const where = `line ${node.lineno} in ${stringRepr(gen.name)}`;
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
