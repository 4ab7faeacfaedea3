/**
 * A device on the master: LAVA's state (Idle, Reserved, Running — set by the
 * jobs that use it) and health (Good, Unknown, Looping, Bad, Maintenance,
 * Retired). The health rules are here, as guarded transitions: what a job's end
 * does to the device (a health check passing or failing, an infrastructure
 * error), a configuration that cannot be rendered, and an admin's change. The
 * reason for every health change is kept in the context, so it is in the
 * device's history.
 *
 * The machine has no effects: the master reacts to its transitions (the
 * scheduler's view of free devices, rows and events are derived from them).
 */
import { assign, setup } from "xstate";
import type { JobHealthName } from "./job.ts";
import { INFRASTRUCTURE_ERRORS } from "./job.ts";

export type DeviceHealthName = "Good" | "Unknown" | "Looping" | "Bad" | "Maintenance" | "Retired";
export type DeviceStateName = "Idle" | "Reserved" | "Running";

export interface DeviceContext {
  readonly hostname: string;
  readonly health: DeviceHealthName;
  /** The job holding the device while Reserved or Running. */
  readonly job?: string;
  /** Why the health last changed ("health check 12 failed", "admin"). */
  readonly reason?: string;
}

/** How the job that held the device ended, as the device's health rules need it. */
export interface JobOutcome {
  readonly healthCheck: boolean;
  /** The job was a reservation: a person had the device, so it is checked before the next job. */
  readonly reservation?: boolean;
  readonly health: JobHealthName;
  readonly errorType?: string;
}

export type DeviceEvent =
  | { type: "reserve"; job: string }
  | { type: "run"; job: string }
  /** The job holding the device ended. */
  | { type: "release"; job: string; outcome: JobOutcome }
  /** The device cannot be used as configured: its dictionary or its health check does not render. */
  | { type: "invalid"; reason: string }
  /** An admin (or a cascade from its worker) sets the health. */
  | { type: "health"; health: DeviceHealthName; reason: string };

/** Healths an admin chose, which a health check's result does not overwrite. */
const ADMIN_HELD = new Set<DeviceHealthName>(["Looping", "Maintenance", "Retired"]);

type Release = Extract<DeviceEvent, { type: "release" }>;
const released = (event: DeviceEvent) => event as Release;
const jobOf = (event: DeviceEvent) => released(event).job;

/** A job's end frees the device; the first rule whose guard holds sets its health. */
const RELEASE = [
  { guard: "healthCheckPassed", target: "Idle", actions: "markPassed" },
  { guard: "healthCheckFailed", target: "Idle", actions: "markFailed" },
  { guard: "infrastructureFailed", target: "Idle", actions: "markUnknown" },
  { guard: "reservationEnded", target: "Idle", actions: "markReserved" },
  { guard: "holdsJob", target: "Idle", actions: "free" },
] as const;

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    input: {} as { hostname: string; health: DeviceHealthName },
    events: {} as DeviceEvent,
  },
  actions: {
    free: assign({ job: undefined }),
    markPassed: assign({
      job: undefined,
      health: "Good",
      reason: ({ event }) => `health check ${jobOf(event)} passed`,
    }),
    markFailed: assign({
      job: undefined,
      health: "Bad",
      reason: ({ event }) => `health check ${jobOf(event)} ended ${released(event).outcome.health}`,
    }),
    markUnknown: assign({
      job: undefined,
      health: "Unknown",
      reason: ({ event }) => `job ${jobOf(event)}: ${released(event).outcome.errorType} error`,
    }),
    markReserved: assign({
      job: undefined,
      health: "Unknown",
      reason: ({ event }) => `reservation ${jobOf(event)} ended: the device is checked before the next job`,
    }),
  },
  guards: {
    holdsJob: ({ context, event }) => (event as { job?: string }).job === context.job,
    healthCheckPassed: ({ context, event }) =>
      released(event).job === context.job && released(event).outcome.healthCheck &&
      released(event).outcome.health === "Complete" && !ADMIN_HELD.has(context.health),
    healthCheckFailed: ({ context, event }) =>
      released(event).job === context.job && released(event).outcome.healthCheck &&
      released(event).outcome.health !== "Complete" && !ADMIN_HELD.has(context.health),
    /** LAVA: a Good device whose job hit the lab's fault is checked again before the next job. */
    infrastructureFailed: ({ context, event }) =>
      released(event).job === context.job && !released(event).outcome.healthCheck &&
      released(event).outcome.health === "Incomplete" &&
      INFRASTRUCTURE_ERRORS.has(released(event).outcome.errorType ?? "") && context.health === "Good",
    /** After a person had the device, as LAVA after a hacking session: anything may have been changed on it. */
    reservationEnded: ({ context, event }) =>
      released(event).job === context.job && released(event).outcome.reservation === true &&
      context.health === "Good",
  },
}).createMachine({
  id: "device",
  context: ({ input }) => ({ hostname: input.hostname, health: input.health }),
  initial: "Idle",
  states: {
    Idle: {
      on: {
        reserve: { target: "Reserved", actions: assign({ job: ({ event }) => event.job }) },
        // A single-node job is sent as it is reserved; it may report Running at once.
        run: { target: "Running", actions: assign({ job: ({ event }) => event.job }) },
      },
    },
    Reserved: {
      on: {
        run: { target: "Running", guard: "holdsJob" },
        release: RELEASE,
      },
    },
    Running: {
      on: { release: RELEASE },
    },
  },
  on: {
    invalid: { actions: assign({ health: "Bad", reason: ({ event }) => event.reason }) },
    health: { actions: assign({ health: ({ event }) => event.health, reason: ({ event }) => event.reason }) },
  },
});
