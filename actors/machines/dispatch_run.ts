/**
 * A job as one worker runs it: from the master's start to the end it reports.
 * The worker persists this actor in its journal, so after a worker restart it
 * knows which dispatch process each job has, how much of its log was already
 * sent, and whether a cancel is under way — and carries on from there.
 *
 * The machine decides; the worker does the I/O. Its actions are injection
 * points the worker provides (sending messages, signalling processes), and the
 * worker reports what happened as events (spawned, log, exited).
 */
import { assign, setup } from "xstate";
import type { JobLogLine } from "../lab/protocol.ts";

export interface DispatchRunOutcome {
  readonly result: "pass" | "fail";
  readonly errorType?: string;
  readonly errorMsg?: string;
  readonly description?: string;
}

export interface DispatchRunContext {
  readonly job: string;
  readonly pid?: number;
  readonly startTime?: string;
  /** The next log line to send, and where it starts in the log file. */
  readonly nextLine: number;
  readonly offset: number;
  readonly outcome?: DispatchRunOutcome;
}

export type DispatchRunEvent =
  | { type: "spawned"; pid: number; startTime: string }
  | { type: "spawn.failed"; message: string }
  | { type: "log"; lines: readonly JobLogLine[]; offset: number }
  | { type: "cancel" }
  /** The cancel's grace period ran out: the whole process group gets SIGKILL. */
  | { type: "grace.expired" }
  | { type: "exited"; outcome: DispatchRunOutcome };

const notProvided = (name: string) => () => {
  throw new Error(`dispatch run action ${name} is not provided`);
};

export const dispatchRunMachine = setup({
  types: {
    context: {} as DispatchRunContext,
    input: {} as { job: string },
    events: {} as DispatchRunEvent,
  },
  actions: {
    /** Tells the master the job runs. */
    reportStarted: notProvided("reportStarted") as (args: { context: DispatchRunContext }) => void,
    /** Sends log lines `from` onwards to the master. */
    reportLog: notProvided("reportLog") as (
      args: { context: DispatchRunContext },
      params: { from: number; lines: readonly JobLogLine[] },
    ) => void,
    /** Tells the master how the job ended. */
    reportEnd: notProvided("reportEnd") as (args: { context: DispatchRunContext }) => void,
    /** SIGTERM to the dispatch process group and start the grace timer. */
    terminate: notProvided("terminate") as (args: { context: DispatchRunContext }) => void,
    /** SIGKILL to the process group; then the worker powers the device off itself. */
    kill: notProvided("kill") as (args: { context: DispatchRunContext }) => void,
  },
}).createMachine({
  id: "dispatch-run",
  context: ({ input }) => ({ job: input.job, nextLine: 0, offset: 0 }),
  initial: "starting",
  states: {
    starting: {
      on: {
        spawned: {
          target: "running",
          actions: [
            assign({ pid: ({ event }) => event.pid, startTime: ({ event }) => event.startTime }),
            "reportStarted",
          ],
        },
        "spawn.failed": {
          target: "finished",
          actions: assign({
            outcome: ({ event }) => ({
              result: "fail" as const,
              errorType: "Infrastructure",
              errorMsg: `the worker could not start the dispatcher: ${event.message}`,
            }),
          }),
        },
        // Cancelled before a process exists: there is nothing to stop.
        cancel: {
          target: "finished",
          actions: assign({
            outcome: () => ({
              result: "fail" as const,
              errorType: "Canceled",
              errorMsg: "cancelled before it started",
            }),
          }),
        },
      },
    },
    running: {
      on: {
        cancel: "cancelling",
      },
    },
    cancelling: {
      entry: "terminate",
      on: {
        "grace.expired": { target: "killed", actions: "kill" },
      },
    },
    killed: {},
    finished: {
      type: "final",
      entry: "reportEnd",
    },
  },
  on: {
    log: {
      actions: [
        { type: "reportLog", params: ({ context, event }) => ({ from: context.nextLine, lines: event.lines }) },
        assign({
          nextLine: ({ context, event }) => context.nextLine + event.lines.length,
          offset: ({ event }) => event.offset,
        }),
      ],
    },
    exited: {
      target: ".finished",
      actions: assign({ outcome: ({ event }) => event.outcome }),
    },
  },
});
