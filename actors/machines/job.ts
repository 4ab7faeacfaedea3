/**
 * A test job's life on the master, with LAVA's states and healths. A submitted
 * job waits in the scheduler's queue as a row; its actor starts when the
 * scheduler takes it (Scheduling for a MultiNode sub-job whose group is not
 * complete yet, Scheduled otherwise) and ends in Finished, when the row keeps
 * the outcome and the actor is let go.
 *
 * Side effects are the master's, injected: sending the job to its worker,
 * sending a cancel, and what follows the end (freeing the device, health).
 */
import { assign, setup } from "xstate";

export type JobHealthName = "Unknown" | "Complete" | "Incomplete" | "Canceled";

export interface JobContext {
  readonly id: string;
  readonly device?: string;
  readonly worker?: string;
  readonly healthCheck: boolean;
  readonly health: JobHealthName;
  readonly errorType?: string;
  readonly errorMsg?: string;
  readonly startTime?: string;
  readonly endTime?: string;
  /** The worker's `description.yaml` of the run. */
  readonly description?: string;
}

export type JobEvent =
  /** A MultiNode sub-job got its device; the group is not complete yet. */
  | { type: "reserve"; device: string; worker: string }
  /** Scheduled: the job goes to its worker. For a reserved sub-job, the group is complete. */
  | { type: "schedule"; device?: string; worker?: string }
  | { type: "started" }
  | { type: "cancel" }
  | { type: "finished"; result: "pass" | "fail"; errorType?: string; errorMsg?: string; description?: string }
  /** The worker would not take it (job limit): back to the queue. */
  | { type: "refused"; reason: string }
  /** The job cannot go on: its worker lost it, its group failed, an admin failed it. */
  | { type: "abort"; errorType: string; errorMsg: string };

const notProvided = (name: string) => () => {
  throw new Error(`job action ${name} is not provided`);
};

/** LAVA: an error of these types is the lab's fault, not the job's. */
export const INFRASTRUCTURE_ERRORS = new Set(["Infrastructure", "Bug", "Configuration"]);

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    input: {} as { id: string; healthCheck: boolean },
    events: {} as JobEvent,
  },
  actions: {
    /** Renders the device configuration and sends the job to the worker. */
    dispatch: notProvided("dispatch") as (args: { context: JobContext }) => void,
    /** Asks the worker to cancel the job. */
    sendCancel: notProvided("sendCancel") as (args: { context: JobContext }) => void,
    /** The job ended: free its device, set health, notify. */
    ended: notProvided("ended") as (args: { context: JobContext }) => void,
    /** A refused job goes back to the queue. */
    requeue: notProvided("requeue") as (args: { context: JobContext }) => void,
  },
}).createMachine({
  id: "job",
  context: ({ input }) => ({ id: input.id, healthCheck: input.healthCheck, health: "Unknown" }),
  initial: "Submitted",
  states: {
    Submitted: {
      on: {
        reserve: {
          target: "Scheduling",
          actions: assign({ device: ({ event }) => event.device, worker: ({ event }) => event.worker }),
        },
        schedule: {
          target: "Scheduled",
          actions: assign({ device: ({ event }) => event.device, worker: ({ event }) => event.worker }),
        },
        cancel: { target: "Finished", actions: assign({ health: "Canceled" }) },
      },
    },
    Scheduling: {
      on: {
        schedule: "Scheduled",
        cancel: { target: "Finished", actions: assign({ health: "Canceled" }) },
      },
    },
    Scheduled: {
      entry: "dispatch",
      on: {
        started: {
          target: "Running",
          actions: assign({ startTime: () => new Date().toISOString() }),
        },
        refused: {
          target: "Submitted",
          actions: [assign({ device: undefined, worker: undefined }), "requeue"],
        },
        cancel: "Canceling",
      },
    },
    Running: {
      on: { cancel: "Canceling" },
    },
    Canceling: {
      entry: "sendCancel",
      on: {
        // Whatever the dispatcher says, a job that was being cancelled ends Canceled, as in LAVA.
        finished: {
          target: "Finished",
          actions: assign({
            health: "Canceled",
            errorType: ({ event }) => event.errorType,
            errorMsg: ({ event }) => event.errorMsg,
            description: ({ event }) => event.description,
          }),
        },
      },
    },
    Finished: {
      type: "final",
      entry: [assign({ endTime: () => new Date().toISOString() }), "ended"],
    },
  },
  on: {
    finished: {
      target: ".Finished",
      actions: assign(({ event }) => ({
        health: event.result === "pass" ? "Complete" : event.errorType === "Canceled" ? "Canceled" : "Incomplete",
        errorType: event.errorType,
        errorMsg: event.errorMsg,
        description: event.description,
      })),
    },
    abort: {
      target: ".Finished",
      actions: assign({
        health: "Incomplete",
        errorType: ({ event }) => event.errorType,
        errorMsg: ({ event }) => event.errorMsg,
      }),
    },
  },
});
