/**
 * A worker as the master sees it: Online while its mailbox session is alive
 * (heartbeats, not polls), with LAVA's admin health (Active, Maintenance,
 * Retired). Only Online and Active workers' devices get jobs: the master's
 * scheduler follows the machine's transitions.
 */
import { assign, setup } from "xstate";
import type { Capabilities } from "../definitions/methods.ts";

export type WorkerHealthName = "Active" | "Maintenance" | "Retired";

export interface WorkerContext {
  readonly hostname: string;
  readonly health: WorkerHealthName;
  readonly version?: string;
  /** The job limit the worker itself reports (0: none). */
  readonly reportedJobLimit: number;
  /** The methods its dispatcher runs, as it said in its last hello; unknown before. */
  readonly capabilities?: Capabilities;
  readonly lastSeen?: string;
}

export type WorkerEvent =
  | { type: "online"; version: string; jobLimit: number; capabilities?: Capabilities }
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
      capabilities: ({ event }) => (event as { capabilities?: Capabilities }).capabilities,
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
