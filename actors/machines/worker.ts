/**
 * A worker as the master sees it: Online while its mailbox session is alive
 * (heartbeats, not polls), with LAVA's admin health (Active, Maintenance,
 * Retired). Only Online and Active workers' devices get jobs: the master's
 * scheduler follows the machine's transitions.
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

export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    input: {} as { hostname: string; health: WorkerHealthName },
    events: {} as WorkerEvent,
  },
  actions: {
    greeted: assign({
      version: ({ event }) => (event as { version: string }).version,
      reportedJobLimit: ({ event }) => (event as { jobLimit: number }).jobLimit,
      lastSeen: () => new Date().toISOString(),
    }),
  },
}).createMachine({
  id: "worker",
  context: ({ input }) => ({ hostname: input.hostname, health: input.health, reportedJobLimit: 0 }),
  initial: "Offline",
  states: {
    Offline: {
      on: {
        online: { target: "Online", actions: "greeted" },
      },
    },
    Online: {
      on: {
        offline: { target: "Offline", actions: assign({ lastSeen: () => new Date().toISOString() }) },
        // A new session of the same worker (it restarted faster than its heartbeat timed out).
        online: { actions: "greeted" },
      },
    },
  },
  on: {
    health: { actions: assign({ health: ({ event }) => event.health }) },
  },
});
