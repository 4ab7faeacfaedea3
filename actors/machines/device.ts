/**
 * A device on the master: LAVA's state (Idle, Reserved, Running — set by the
 * jobs that use it) and health (Good, Unknown, Looping, Bad, Maintenance,
 * Retired — set by health checks, infrastructure errors and admins), with the
 * reason for every health change kept in its history.
 */
import { assign, setup } from "xstate";

export type DeviceHealthName = "Good" | "Unknown" | "Looping" | "Bad" | "Maintenance" | "Retired";

export interface DeviceContext {
  readonly hostname: string;
  readonly health: DeviceHealthName;
  /** The job holding the device while Reserved or Running. */
  readonly job?: string;
  /** Why the health last changed ("health check 12 failed", "admin"). */
  readonly reason?: string;
}

export type DeviceEvent =
  | { type: "reserve"; job: string }
  | { type: "run"; job: string }
  | { type: "release"; job: string }
  | { type: "health"; health: DeviceHealthName; reason: string };

const notProvided = (name: string) => () => {
  throw new Error(`device action ${name} is not provided`);
};

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    input: {} as { hostname: string; health: DeviceHealthName },
    events: {} as DeviceEvent,
  },
  actions: {
    /** The device may take a job: wake the scheduler. */
    available: notProvided("available") as (args: { context: DeviceContext }) => void,
  },
  guards: {
    holdsJob: ({ context, event }) => (event as { job?: string }).job === context.job,
  },
}).createMachine({
  id: "device",
  context: ({ input }) => ({ hostname: input.hostname, health: input.health }),
  initial: "Idle",
  states: {
    Idle: {
      entry: "available",
      on: {
        reserve: { target: "Reserved", actions: assign({ job: ({ event }) => event.job }) },
        // A single-node job is sent as it is reserved; it may report Running at once.
        run: { target: "Running", actions: assign({ job: ({ event }) => event.job }) },
      },
    },
    Reserved: {
      on: {
        run: { target: "Running", guard: "holdsJob" },
        release: { target: "Idle", guard: "holdsJob", actions: assign({ job: undefined }) },
      },
    },
    Running: {
      on: {
        release: { target: "Idle", guard: "holdsJob", actions: assign({ job: undefined }) },
      },
    },
  },
  on: {
    health: {
      actions: [
        assign({ health: ({ event }) => event.health, reason: ({ event }) => event.reason }),
        "available",
      ],
    },
  },
});
