/**
 * One job's run on its device, as the dispatcher executes it: the top-level
 * actions of the pipeline in order, then finalize — always, whether the run
 * passed, failed, timed out or was cancelled. Running an action and finalizing
 * are injected actors, so the same machine drives real devices and test fakes.
 */
import { assign, fromPromise, setup } from "xstate";

export interface DispatchFailure {
  /** LAVA's error_type: Infrastructure, Job, Test, Bug, Configuration, LAVATimeout, Canceled... */
  readonly type: string;
  readonly message: string;
}

export interface DispatchContext {
  readonly total: number;
  readonly index: number;
  readonly failure?: DispatchFailure;
}

export type DispatchEvent =
  | { type: "cancel" }
  | { type: "job.timeout"; seconds: number };

/** The injected actors reject with a DispatchFailure; anything else is a bug. */
function failureOf(error: unknown): DispatchFailure {
  if (typeof error === "object" && error !== null && "type" in error && "message" in error) {
    return { type: String(error.type), message: String(error.message) };
  }
  return { type: "Bug", message: error instanceof Error ? error.message : String(error) };
}

export const dispatchMachine = setup({
  types: {
    context: {} as DispatchContext,
    input: {} as { total: number },
    events: {} as DispatchEvent,
    output: {} as { failure?: DispatchFailure },
  },
  actors: {
    /** Runs top-level action `index`; rejects with the failure. Overridden by the dispatcher. */
    runAction: fromPromise<void, { index: number }>(() => Promise.reject(new Error("runAction is not provided"))),
    /** Powers the device off and releases what the job held. */
    finalize: fromPromise<void, { failure?: DispatchFailure }>(() => Promise.resolve()),
  },
  actions: {
    recordFailure: assign({ failure: ({ event }) => failureOf((event as { error?: unknown }).error) }),
  },
  guards: {
    isLastAction: ({ context }) => context.index + 1 >= context.total,
  },
}).createMachine({
  id: "dispatch",
  context: ({ input }) => ({ total: input.total, index: 0 }),
  initial: "running",
  states: {
    running: {
      always: { guard: ({ context }) => context.total === 0, target: "finalizing" },
      invoke: {
        id: "action",
        src: "runAction",
        input: ({ context }) => ({ index: context.index }),
        onDone: [
          { guard: "isLastAction", target: "finalizing" },
          { target: "running", reenter: true, actions: assign({ index: ({ context }) => context.index + 1 }) },
        ],
        onError: { target: "finalizing", actions: "recordFailure" },
      },
      on: {
        cancel: {
          target: "finalizing",
          actions: assign({ failure: { type: "Canceled", message: "the job was cancelled" } }),
        },
        "job.timeout": {
          target: "finalizing",
          actions: assign({
            failure: ({ event }) => ({ type: "Job", message: `the job timed out after ${event.seconds} seconds` }),
          }),
        },
      },
    },
    finalizing: {
      invoke: {
        src: "finalize",
        input: ({ context }) => ({ failure: context.failure }),
        onDone: "finished",
        onError: {
          target: "finished",
          actions: assign({
            failure: ({ context, event }) =>
              context.failure ?? { type: "Infrastructure", message: `finalize failed: ${String(event.error)}` },
          }),
        },
      },
    },
    finished: { type: "final" },
  },
  output: ({ context }) => ({ failure: context.failure }),
});
