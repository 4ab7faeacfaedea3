/**
 * The master's actors, by kind, each kind under its own supervisor beneath the
 * host's root: jobs, devices, workers and MultiNode groups. Snapshots are read
 * here, typed, so no other module casts an actor's state.
 *
 * Escalation: an actor that keeps failing (more than the policy's restarts in
 * its window) makes its kind's supervisor restart every actor of that kind from
 * its last journaled snapshot; a kind that keeps failing escalates to the root,
 * which stops the master (exit status 70) so that its service manager starts a
 * new one from the journal. One bad job never restarts the devices, and the
 * reverse.
 */
import type { SupervisedActor, Supervisor } from "../../actors/runtime/supervisor.ts";
import type { JobStart } from "../../actors/lab/protocol.ts";
import {
  type DeviceContext,
  type DeviceHealthName,
  deviceMachine,
  type DeviceStateName,
} from "../../actors/machines/device.ts";
import { type JobContext, jobMachine } from "../../actors/machines/job.ts";
import { type GroupContext, groupMachine, type GroupMember } from "../../actors/machines/multinode_group.ts";
import { type WorkerContext, type WorkerHealthName, workerMachine } from "../../actors/machines/worker.ts";
import type { JobState, WorkerState } from "../../actors/domain/states.ts";
import type { SubmittedJob } from "./submission.ts";
import type { Capabilities } from "../../actors/definitions/methods.ts";

export type JobActor = SupervisedActor<typeof jobMachine>;
export type DeviceActor = SupervisedActor<typeof deviceMachine>;
export type WorkerActor = SupervisedActor<typeof workerMachine>;
export type GroupActor = SupervisedActor<typeof groupMachine>;

type Restore = { readonly snapshot: unknown; readonly sequence: number } | undefined;

/** What the master keeps in memory of a job that is not finished. */
export interface ActiveJob {
  readonly id: number;
  readonly displayId: string;
  readonly description: string;
  readonly deviceType: string;
  readonly priority: number;
  readonly submitTime: number;
  readonly submitter: number;
  readonly visibility: number;
  readonly healthCheck: boolean;
  /** A reservation: its console is relayed to people, and its device is checked after it. */
  readonly reservation?: boolean;
  readonly group?: string;
  readonly role?: string;
  /** The next log line expected from the worker. */
  nextLine: number;
  /** Why some of the job's log could not be stored: the job fails with it when it ends. */
  unstorable?: string;
}

export type JobStateName = keyof typeof JobState.byName;
export type WorkerStateName = keyof typeof WorkerState.byName;

/** The effects the machines leave to the master: the I/O of sending to workers and cancelling members. */
export interface ActorEffects {
  sendJob(context: JobContext, start: JobStart): void;
  sendCancel(context: JobContext): void;
  cancelMembers(context: GroupContext): void;
}

export class ActorRegistry {
  readonly #supervisors: Record<"job" | "device" | "worker" | "group", Supervisor>;
  readonly #jobs = new Map<number, { actor: JobActor; facts: ActiveJob }>();
  readonly #devices = new Map<string, DeviceActor>();
  readonly #workers = new Map<string, WorkerActor>();
  readonly #groups = new Map<string, GroupActor>();
  readonly #jobLogic: typeof jobMachine;
  readonly #groupLogic: typeof groupMachine;

  constructor(root: Supervisor, effects: ActorEffects) {
    this.#supervisors = {
      job: root.subordinate("jobs"),
      device: root.subordinate("devices"),
      worker: root.subordinate("workers"),
      group: root.subordinate("groups"),
    };
    this.#jobLogic = jobMachine.provide({
      actions: {
        dispatch: ({ context }, { start }) => effects.sendJob(context, start),
        sendCancel: ({ context }) => effects.sendCancel(context),
      },
    });
    this.#groupLogic = groupMachine.provide({
      actions: { cancelMembers: ({ context }) => effects.cancelMembers(context) },
    });
  }

  // --- jobs ---------------------------------------------------------------------

  spawnJob(facts: ActiveJob, restore?: Restore): JobActor {
    const actor = this.#supervisors.job.spawn({
      kind: "job",
      id: String(facts.id),
      logic: this.#jobLogic,
      input: { id: String(facts.id), healthCheck: facts.healthCheck },
      restore,
    });
    this.#jobs.set(facts.id, { actor, facts });
    return actor;
  }

  job(id: number): JobActor | undefined {
    return this.#jobs.get(id)?.actor;
  }

  facts(id: number): ActiveJob | undefined {
    return this.#jobs.get(id)?.facts;
  }

  jobSnapshot(id: number): { state: JobStateName; context: JobContext } | undefined {
    const actor = this.job(id);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot();
    return { state: snapshot.value as JobStateName, context: snapshot.context };
  }

  /** Ids of the jobs with an actor (placed, running or ending). */
  jobIds(): number[] {
    return [...this.#jobs.keys()];
  }

  /** A job ended for good (or went back to the queue): its actor and its journaled snapshot go. */
  removeJob(id: number): void {
    this.#supervisors.job.stop("job", String(id), { forget: true });
    this.#jobs.delete(id);
  }

  // --- devices ------------------------------------------------------------------

  spawnDevice(hostname: string, health: DeviceHealthName, restore?: Restore): DeviceActor {
    const actor = this.#supervisors.device.spawn({
      kind: "device",
      id: hostname,
      logic: deviceMachine,
      input: { hostname, health },
      restore,
    });
    this.#devices.set(hostname, actor);
    return actor;
  }

  device(hostname: string): DeviceActor | undefined {
    return this.#devices.get(hostname);
  }

  deviceSnapshot(hostname: string): { state: DeviceStateName; context: DeviceContext } | undefined {
    const actor = this.#devices.get(hostname);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot();
    return { state: snapshot.value as DeviceStateName, context: snapshot.context };
  }

  deviceNames(): string[] {
    return [...this.#devices.keys()];
  }

  // --- workers ------------------------------------------------------------------

  spawnWorker(hostname: string, health: WorkerHealthName, restore?: Restore): WorkerActor {
    const actor = this.#supervisors.worker.spawn({
      kind: "worker",
      id: hostname,
      logic: workerMachine,
      input: { hostname, health },
      restore,
    });
    this.#workers.set(hostname, actor);
    return actor;
  }

  worker(hostname: string): WorkerActor | undefined {
    return this.#workers.get(hostname);
  }

  workerSnapshot(hostname: string): { state: WorkerStateName; context: WorkerContext } | undefined {
    const actor = this.#workers.get(hostname);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot();
    return { state: snapshot.value as WorkerStateName, context: snapshot.context };
  }

  workerNames(): string[] {
    return [...this.#workers.keys()];
  }

  /** Stops a removed worker's actor and forgets its journal. */
  removeWorker(hostname: string): void {
    this.#supervisors.worker.stop("worker", hostname, { forget: true });
    this.#workers.delete(hostname);
  }

  // --- MultiNode groups -----------------------------------------------------------

  spawnGroup(group: string, members: readonly GroupMember[], ended: readonly string[], restore?: Restore): GroupActor {
    const actor = this.#supervisors.group.spawn({
      kind: "group",
      id: group,
      logic: this.#groupLogic,
      input: { group, members, ended },
      restore,
    });
    this.#groups.set(group, actor);
    return actor;
  }

  group(group: string): GroupActor | undefined {
    return this.#groups.get(group);
  }

  groupState(group: string): string | undefined {
    const actor = this.#groups.get(group);
    return actor ? String(actor.getSnapshot().value) : undefined;
  }

  removeGroup(group: string): void {
    this.#supervisors.group.stop("group", group, { forget: true });
    this.#groups.delete(group);
  }
}

/** The facts of a job taken from the queue (or about to be ended before it ever ran). */
/** Whether a job asking for these methods is a reservation (its test is a `reservation`). */
export function isReservation(requires: Capabilities | undefined): boolean {
  return requires?.test.includes("reservation") ?? false;
}

export function activeJobOf(job: SubmittedJob, role?: string): ActiveJob {
  return {
    id: job.id,
    displayId: job.displayId,
    description: job.description,
    deviceType: job.deviceType,
    priority: job.priority,
    submitTime: job.submitTime,
    submitter: job.submitter,
    visibility: job.visibility,
    healthCheck: job.healthCheck,
    ...(isReservation(job.requires) ? { reservation: true } : {}),
    group: job.group,
    role,
    nextLine: 0,
  };
}
