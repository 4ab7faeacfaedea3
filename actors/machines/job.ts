/**
 * A test job's life on the master, with LAVA's states and healths. A submitted
 * job waits in the scheduler's queue as a row; its actor starts when the
 * scheduler takes it (Scheduling for a MultiNode sub-job whose group is not
 * complete yet, Scheduled otherwise) and ends in Finished, when the row keeps
 * the outcome and the actor is let go.
 *
 * Its two effects are the master's, injected: sending the job to its worker and
 * sending a cancel. What follows a transition elsewhere in the lab (freeing the
 * device, the group, requeueing) is the master's reaction to the transition,
 * never an action that sends events back.
 */
import { assign, setup } from "xstate";
import type { JobStart } from "../lab/protocol.ts";

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
  /**
   * Scheduled: the job goes to its worker with `start`. For a reserved sub-job, the group is complete.
   * `problem` says why `start` cannot be sent (the worker would refuse it): the job fails instead.
   */
  | { type: "schedule"; device?: string; worker?: string; start: JobStart; problem?: string }
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

/** A job whose start message cannot be sent fails at once; otherwise it goes to its worker. */
const SCHEDULE = [
  { guard: "unsendable", target: "Finished", actions: ["placeOn", "failUnsendable"] },
  {
    target: "Scheduled",
    actions: ["placeOn", {
      type: "dispatch",
      params: ({ event }: { event: JobEvent }) => ({ start: (event as { start: JobStart }).start }),
    }],
  },
] as const;

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    input: {} as { id: string; healthCheck: boolean },
    events: {} as JobEvent,
  },
  actions: {
    /** Sends the job's start message to its worker. */
    dispatch: notProvided("dispatch") as (args: { context: JobContext }, params: { start: JobStart }) => void,
    /** Asks the worker to cancel the job. */
    sendCancel: notProvided("sendCancel") as (args: { context: JobContext }) => void,
    placeOn: assign({
      device: ({ context, event }) => (event as { device?: string }).device ?? context.device,
      worker: ({ context, event }) => (event as { worker?: string }).worker ?? context.worker,
    }),
    failUnsendable: assign({
      health: "Incomplete",
      errorType: "Job",
      errorMsg: ({ event }) => `the job cannot be sent to its worker: ${(event as { problem?: string }).problem}`,
    }),
  },
  guards: {
    unsendable: ({ event }) => (event as { problem?: string }).problem !== undefined,
  },
}).createMachine({
  id: "job",
  context: ({ input }) => ({ id: input.id, healthCheck: input.healthCheck, health: "Unknown" }),
  initial: "Submitted",
  states: {
    Submitted: {
      on: {
        reserve: { target: "Scheduling", actions: "placeOn" },
        schedule: SCHEDULE,
        cancel: { target: "Finished", actions: assign({ health: "Canceled" }) },
      },
    },
    Scheduling: {
      on: {
        schedule: SCHEDULE,
        cancel: { target: "Finished", actions: assign({ health: "Canceled" }) },
      },
    },
    Scheduled: {
      on: {
        started: {
          target: "Running",
          actions: assign({ startTime: () => new Date().toISOString() }),
        },
        // The master puts a refused job back in the queue when it sees this transition.
        refused: { target: "Submitted", actions: assign({ device: undefined, worker: undefined }) },
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
      entry: assign({ endTime: () => new Date().toISOString() }),
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
