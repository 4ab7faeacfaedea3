/**
 * Supervision for xstate actors, after Erlang/OTP: a supervisor starts its
 * children, persists each one's snapshot and transitions as they happen, and when
 * a child fails (an action or actor of its machine throws) restarts it from its
 * last good snapshot. A child that fails more than `maxRestarts` times within
 * `withinMs` is given up on and the failure escalates to the parent supervisor,
 * which treats it as its own failure: it restarts the whole subtree, or escalates
 * further. A child's failure never touches its siblings.
 */
import {
  type Actor,
  type AnyActorLogic,
  createActor,
  type EventFromLogic,
  type InputFrom,
  type InspectionEvent,
  type Snapshot,
  type SnapshotFrom,
} from "xstate";
import type { TransitionRecord } from "./journal.ts";
import type { Logger } from "./log.ts";
import { stateValueText, type TransitionStream } from "./transitions.ts";

export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly withinMs: number;
}

export const DEFAULT_POLICY: RestartPolicy = { maxRestarts: 3, withinMs: 10_000 };

/** Where supervised actors' state goes (the host stages it into the journal). */
export interface Persistence {
  snapshot(kind: string, id: string, sequence: number, snapshot: unknown): void;
  transition(record: TransitionRecord): void;
  removed(kind: string, id: string): void;
}

export interface Escalation {
  readonly supervisor: string;
  readonly kind: string;
  readonly id: string;
  readonly error: unknown;
  readonly failures: number;
}

export interface SupervisorOptions {
  readonly policy?: RestartPolicy;
  readonly persistence?: Persistence;
  readonly transitions?: TransitionStream;
  readonly logger?: Logger;
  /** What to do when this supervisor gives up (for a root supervisor: stop the process). */
  readonly onEscalate?: (escalation: Escalation) => void;
}

export interface SpawnOptions<TLogic extends AnyActorLogic> {
  readonly kind: string;
  readonly id: string;
  readonly logic: TLogic;
  readonly input?: InputFrom<TLogic>;
  /** A snapshot restored from the journal, and the transition count it had reached. */
  readonly restore?: { readonly snapshot: unknown; readonly sequence: number };
}

export type ChildStatus = "running" | "failed" | "stopped";

/** A supervised actor: a stable handle over whichever incarnation is running. */
export class SupervisedActor<TLogic extends AnyActorLogic = AnyActorLogic> {
  #actor!: Actor<TLogic>;
  #lastGood: unknown;
  #lastSnapshot: unknown;
  #sequence: number;
  #failures: number[] = [];
  status: ChildStatus = "running";
  restarts = 0;

  constructor(
    readonly kind: string,
    readonly id: string,
    private readonly logic: TLogic,
    private readonly input: InputFrom<TLogic> | undefined,
    restore: SpawnOptions<TLogic>["restore"],
    private readonly owner: Supervisor,
  ) {
    this.#lastGood = restore?.snapshot;
    this.#sequence = restore?.sequence ?? 0;
  }

  get address(): string {
    return `${this.kind}/${this.id}`;
  }

  /** The running incarnation; changes on restart, so keep the handle, not this. */
  get actor(): Actor<TLogic> {
    return this.#actor;
  }

  getSnapshot(): SnapshotFrom<TLogic> {
    return this.#actor.getSnapshot();
  }

  /** Transitions taken over the actor's whole life, across restarts. */
  get sequence(): number {
    return this.#sequence;
  }

  send(event: EventFromLogic<TLogic>): void {
    if (this.status !== "running") {
      throw new Error(`${this.address} is ${this.status}; it cannot take ${(event as { type: string }).type}`);
    }
    this.#actor.send(event);
  }

  /** Starts a new incarnation from the last good snapshot (or from the input). */
  start(): void {
    const restored = this.#lastGood !== undefined;
    this.#lastSnapshot = undefined;
    const actor: Actor<TLogic> = createActor(this.logic, {
      ...(this.input !== undefined ? { input: this.input } : {}),
      ...(restored ? { snapshot: this.#lastGood as Snapshot<unknown> } : {}),
      inspect: (inspection: InspectionEvent) => {
        if (inspection.type !== "@xstate.snapshot" || inspection.actorRef !== actor) return;
        this.#onSnapshot(actor, inspection.event, inspection.snapshot, restored);
      },
    } as never);
    this.#actor = actor;
    actor.subscribe({
      error: (error) => this.owner.childFailed(this, error),
    });
    this.status = "running";
    actor.start();
  }

  stop(): void {
    this.status = "stopped";
    this.#actor?.stop();
  }

  /** Counts a failure; true while the policy still allows a restart. */
  recordFailure(now: number, policy: RestartPolicy): boolean {
    this.#failures = this.#failures.filter((t) => now - t < policy.withinMs);
    this.#failures.push(now);
    return this.#failures.length <= policy.maxRestarts;
  }

  get recentFailures(): number {
    return this.#failures.length;
  }

  resetFailures(): void {
    this.#failures = [];
  }

  #onSnapshot(actor: Actor<TLogic>, event: { type: string }, snapshot: Snapshot<unknown>, restored: boolean): void {
    // Failing and being stopped are not states to come back to.
    if (snapshot.status === "error" || snapshot.status === "stopped" || event.type === "xstate.stop") return;
    const before = this.#lastSnapshot as { value?: unknown } | undefined;
    this.#lastSnapshot = snapshot;
    // The init of a restored incarnation is not a transition: it is where it was.
    if (event.type === "xstate.init" && restored) return;
    if (before === snapshot) return;
    const persisted = actor.getPersistedSnapshot();
    this.#lastGood = persisted;
    this.#sequence++;
    const { type, ...payload } = event;
    const record: TransitionRecord = {
      actorKind: this.kind,
      actorId: this.id,
      sequence: this.#sequence,
      eventType: type,
      stateBefore: before ? stateValueText(before.value) : null,
      stateAfter: stateValueText((snapshot as { value?: unknown }).value ?? snapshot.status),
      payload: trimPayload(payload),
      at: new Date(),
    };
    this.owner.persist(this, persisted, record);
  }
}

/** Keeps event payloads small enough for the history: large fields are summarised. */
function trimPayload(payload: Record<string, unknown>): unknown {
  const text = JSON.stringify(payload, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  if (text === undefined) return {};
  if (text.length <= 4096) return JSON.parse(text);
  return { truncated: true, keys: Object.keys(payload), size: text.length };
}

export class Supervisor {
  readonly #children = new Map<string, SupervisedActor>();
  readonly #subordinates = new Map<string, Supervisor>();
  #failures: number[] = [];
  #parent: Supervisor | undefined;

  constructor(readonly name: string, private readonly options: SupervisorOptions = {}) {}

  get policy(): RestartPolicy {
    return this.options.policy ?? DEFAULT_POLICY;
  }

  /** A supervisor under this one: its escalations become this one's failures. */
  subordinate(name: string, options: Omit<SupervisorOptions, "onEscalate"> = {}): Supervisor {
    const child = new Supervisor(`${this.name}/${name}`, {
      persistence: this.options.persistence,
      transitions: this.options.transitions,
      logger: this.options.logger,
      ...options,
    });
    child.#parent = this;
    this.#subordinates.set(name, child);
    return child;
  }

  spawn<TLogic extends AnyActorLogic>(options: SpawnOptions<TLogic>): SupervisedActor<TLogic> {
    const key = `${options.kind}/${options.id}`;
    if (this.#children.get(key)?.status === "running") throw new Error(`${key} is already running in ${this.name}`);
    const child = new SupervisedActor(options.kind, options.id, options.logic, options.input, options.restore, this);
    this.#children.set(key, child as unknown as SupervisedActor);
    child.start();
    return child;
  }

  get(kind: string, id: string): SupervisedActor | undefined {
    return this.#children.get(`${kind}/${id}`);
  }

  children(): SupervisedActor[] {
    return [...this.#children.values()];
  }

  /** Stops a child; with `forget`, its persisted snapshot is dropped too (it ended for good). */
  stop(kind: string, id: string, { forget = false } = {}): void {
    const key = `${kind}/${id}`;
    const child = this.#children.get(key);
    if (!child) return;
    child.stop();
    this.#children.delete(key);
    if (forget) this.options.persistence?.removed(kind, id);
  }

  /** @internal Called by a child's snapshot observer. */
  persist(child: SupervisedActor, snapshot: unknown, record: TransitionRecord): void {
    this.options.persistence?.snapshot(child.kind, child.id, record.sequence, snapshot);
    this.options.persistence?.transition(record);
    this.options.transitions?.publish(record);
  }

  /** @internal Called when a child's actor errors. */
  childFailed(child: SupervisedActor, error: unknown): void {
    if (child.status !== "running") return;
    child.status = "failed";
    const now = Date.now();
    const log = this.options.logger;
    if (child.recordFailure(now, this.policy)) {
      child.restarts++;
      log?.warning("actor failed; restarting it from its last snapshot", {
        supervisor: this.name,
        actor: child.address,
        restarts: child.restarts,
        error,
      });
      // Restart on a later turn: the failing incarnation is still unwinding.
      queueMicrotask(() => {
        if (child.status === "failed" && this.#children.get(child.address) === child) child.start();
      });
      return;
    }
    log?.error("actor keeps failing; escalating", { supervisor: this.name, actor: child.address, error });
    this.#escalate({ supervisor: this.name, kind: child.kind, id: child.id, error, failures: child.recentFailures });
  }

  #escalate(escalation: Escalation): void {
    if (this.#parent) {
      this.#parent.#subordinateFailed(this, escalation);
    } else if (this.options.onEscalate) {
      this.options.onEscalate(escalation);
    } else {
      this.options.logger?.error("unsupervised escalation", { ...escalation });
    }
  }

  #subordinateFailed(subordinate: Supervisor, escalation: Escalation): void {
    const now = Date.now();
    this.#failures = this.#failures.filter((t) => now - t < this.policy.withinMs);
    this.#failures.push(now);
    if (this.#failures.length <= this.policy.maxRestarts) {
      this.options.logger?.warning("restarting a supervisor and all its actors", {
        supervisor: subordinate.name,
        cause: `${escalation.kind}/${escalation.id}`,
      });
      queueMicrotask(() => subordinate.#restartAll());
      return;
    }
    this.#escalate({ ...escalation, supervisor: this.name, failures: this.#failures.length });
  }

  #restartAll(): void {
    for (const child of this.#children.values()) {
      child.stop();
      child.resetFailures();
      child.start();
    }
    for (const sub of this.#subordinates.values()) sub.#restartAll();
  }

  /** Stops every child and subordinate. */
  stopAll(): void {
    for (const sub of this.#subordinates.values()) sub.stopAll();
    for (const child of this.#children.values()) child.stop();
  }
}
