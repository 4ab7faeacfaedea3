/**
 * A machine's definition as a plain graph (states and their transitions, with
 * events and guards), for drawing it: the web UI renders this as SVG, and admins
 * read it to see every way an actor can move.
 */
import type { AnyStateMachine } from "xstate";

export interface GraphState {
  /** Dotted path from the root, e.g. "Running.Booting" ("" for the root). */
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** The initial child of a compound state. */
  readonly initial: string | null;
  readonly tags: readonly string[];
  readonly description: string | null;
}

export interface GraphTransition {
  readonly source: string;
  /** Target state ids; empty for a transition that only runs actions. */
  readonly targets: readonly string[];
  /** The event type; "" for an eventless (always) transition. */
  readonly event: string;
  readonly guard: string | null;
  readonly actions: readonly string[];
}

export interface MachineGraph {
  readonly machine: string;
  readonly states: readonly GraphState[];
  readonly transitions: readonly GraphTransition[];
}

interface NodeLike {
  key: string;
  path: string[];
  type: GraphState["type"];
  states: Record<string, NodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  initial?: { target: readonly NodeLike[] } | undefined;
  tags: string[];
  description?: string;
}

interface TransitionLike {
  target: readonly NodeLike[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
  eventType: string;
}

const pathOf = (node: NodeLike) => node.path.join(".");

function describeGuard(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") return guard.name || "inline guard";
  if (typeof guard === "object" && "type" in guard) return String((guard as { type: unknown }).type);
  return "guard";
}

function describeAction(action: unknown): string {
  if (typeof action === "string") return action;
  if (typeof action === "function") return action.name || "inline action";
  if (typeof action === "object" && action !== null && "type" in action) return String(action.type);
  return "action";
}

/** Walks a machine's state nodes into a {@link MachineGraph}. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const visit = (node: NodeLike, parent: NodeLike | null) => {
    let initial: string | null = null;
    if (node.type === "compound") {
      const target = node.initial?.target?.[0];
      initial = target ? pathOf(target) : null;
    }
    states.push({
      id: pathOf(node),
      key: node.key,
      parent: parent ? pathOf(parent) : null,
      type: node.type,
      initial,
      tags: [...node.tags],
      description: node.description ?? null,
    });
    const add = (event: string, definition: TransitionLike) =>
      transitions.push({
        source: pathOf(node),
        targets: (definition.target ?? []).map(pathOf),
        event,
        guard: describeGuard(definition.guard),
        actions: definition.actions.map(describeAction),
      });
    for (const [event, definitions] of node.transitions) for (const d of definitions) add(event, d);
    for (const d of node.always ?? []) add("", d);
    for (const child of Object.values(node.states)) visit(child, node);
  };
  visit(machine.root as unknown as NodeLike, null);
  return { machine: machine.id, states, transitions };
}
