/**
 * A worker as the master sees it: Online while its mailbox session is alive
 * (heartbeats, not polls), with LAVA's admin health (Active, Maintenance,
 * Retired). Only Online and Active workers' devices get jobs.
 */
import { assign, setup } from "xstate";

export type WorkerHealthName = "Active" | "Maintenance" | "Retired";

export interface WorkerContext {
  readonly hostname: string;
  readonly health: WorkerHealthName;
  readonly version?: string;
  /** The job limit the worker itself reports (0: none). */
  readonly reportedJobLimit: number;
  readonly lastSeen?: string;
}

export type WorkerEvent =
  | { type: "online"; version: string; jobLimit: number }
  | { type: "offline" }
  | { type: "health"; health: WorkerHealthName };

const notProvided = (name: string) => () => {
  throw new Error(`worker action ${name} is not provided`);
};

export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    input: {} as { hostname: string; health: WorkerHealthName },
    events: {} as WorkerEvent,
  },
  actions: {
    /** The worker's devices may take jobs again: wake the scheduler. */
    available: notProvided("available") as (args: { context: WorkerContext }) => void,
  },
}).createMachine({
  id: "worker",
  context: ({ input }) => ({ hostname: input.hostname, health: input.health, reportedJobLimit: 0 }),
  initial: "Offline",
  states: {
    Offline: {
      on: {
        online: {
          target: "Online",
          actions: assign({
            version: ({ event }) => event.version,
            reportedJobLimit: ({ event }) => event.jobLimit,
            lastSeen: () => new Date().toISOString(),
          }),
        },
      },
    },
    Online: {
      entry: "available",
      on: {
        offline: { target: "Offline", actions: assign({ lastSeen: () => new Date().toISOString() }) },
        online: {
          actions: assign({
            version: ({ event }) => event.version,
            reportedJobLimit: ({ event }) => event.jobLimit,
            lastSeen: () => new Date().toISOString(),
          }),
        },
      },
    },
  },
  on: {
    health: { actions: [assign({ health: ({ event }) => event.health }), "available"] },
  },
});
