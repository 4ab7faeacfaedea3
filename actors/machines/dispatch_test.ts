import { createActor, fromPromise } from "xstate";
import { assertEquals } from "../../tests/support/assert.ts";
import { type DispatchEvent, type DispatchFailure, dispatchMachine } from "./dispatch.ts";

/**
 * A dispatch run whose actions are promises the test settles by hand: `pending`
 * holds each started action or finalize with its resolve and reject.
 */
function dispatch(total: number) {
  const started: string[] = [];
  const pending: { name: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const later = (name: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(name);
      pending.push({ name, resolve, reject });
    });
  const actor = createActor(
    dispatchMachine.provide({
      actors: {
        runAction: fromPromise<void, { index: number }>(({ input }) => later(`action ${input.index}`)),
        finalize: fromPromise<void, { failure?: DispatchFailure }>(({ input }) =>
          later(`finalize ${input.failure?.type ?? "-"}`)
        ),
      },
    }),
    { input: { total } },
  );
  actor.start();
  const settle = async (how: "resolve" | "reject", error?: unknown) => {
    const next = pending.shift()!;
    if (how === "resolve") next.resolve();
    else next.reject(error);
    // Let the promise actor's settlement reach the machine.
    await new Promise((r) => setTimeout(r, 0));
  };
  return {
    started,
    settle,
    send: (event: DispatchEvent) => actor.send(event),
    state: () => actor.getSnapshot().value,
    status: () => actor.getSnapshot().status,
    output: () => actor.getSnapshot().output,
    index: () => actor.getSnapshot().context.index,
  };
}

Deno.test("a run executes its top-level actions in order, then finalizes, and ends without a failure", async () => {
  const d = dispatch(3);
  assertEquals([d.state(), d.started], ["running", ["action 0"]]);
  await d.settle("resolve");
  assertEquals([d.index(), d.started.at(-1)], [1, "action 1"]);
  await d.settle("resolve");
  await d.settle("resolve");
  assertEquals([d.state(), d.started.at(-1)], ["finalizing", "finalize -"]);
  await d.settle("resolve");
  assertEquals([d.state(), d.status(), d.output()], ["finished", "done", { failure: undefined }]);
  assertEquals(d.started, ["action 0", "action 1", "action 2", "finalize -"]);
});

Deno.test("a pipeline with no actions goes straight to finalize", async () => {
  const d = dispatch(0);
  assertEquals([d.state(), d.started], ["finalizing", ["finalize -"]]);
  await d.settle("resolve");
  assertEquals(d.status(), "done");
});

Deno.test("a failing action skips the rest, finalizes with its failure, and the run ends with it", async () => {
  const d = dispatch(3);
  await d.settle("resolve");
  await d.settle("reject", { type: "Infrastructure", message: "the serial line closed" });
  assertEquals(d.started, ["action 0", "action 1", "finalize Infrastructure"]);
  await d.settle("resolve");
  assertEquals(d.output(), { failure: { type: "Infrastructure", message: "the serial line closed" } });
});

Deno.test("an action rejecting with something not a failure is a bug", async () => {
  const d = dispatch(1);
  await d.settle("reject", new Error("undefined is not a function"));
  await d.settle("resolve");
  assertEquals(d.output(), { failure: { type: "Bug", message: "undefined is not a function" } });
});

Deno.test("a cancel or the job's timeout stops the running action and finalizes with why", async () => {
  const cancelled = dispatch(2);
  cancelled.send({ type: "cancel" });
  assertEquals([cancelled.state(), cancelled.started], ["finalizing", ["action 0", "finalize Canceled"]]);
  await cancelled.settle("reject", { type: "Job", message: "aborted" }); // the stopped action, ignored
  await cancelled.settle("resolve");
  assertEquals(cancelled.output(), { failure: { type: "Canceled", message: "the job was cancelled" } });

  const late = dispatch(2);
  late.send({ type: "job.timeout", seconds: 600 });
  await late.settle("reject", { type: "Job", message: "aborted" });
  await late.settle("resolve");
  assertEquals(late.output(), { failure: { type: "Job", message: "the job timed out after 600 seconds" } });
});

Deno.test("a cancel while finalizing changes nothing: finalize runs once and its outcome stands", async () => {
  const d = dispatch(1);
  await d.settle("resolve");
  d.send({ type: "cancel" });
  d.send({ type: "job.timeout", seconds: 1 });
  await d.settle("resolve");
  assertEquals([d.started, d.output()], [["action 0", "finalize -"], { failure: undefined }]);
});

Deno.test("a failing finalize fails a run that had passed, and keeps the first failure of one that had not", async () => {
  const passed = dispatch(1);
  await passed.settle("resolve");
  await passed.settle("reject", "the PDU did not answer");
  assertEquals(passed.output(), {
    failure: { type: "Infrastructure", message: "finalize failed: the PDU did not answer" },
  });

  const failed = dispatch(1);
  await failed.settle("reject", { type: "Test", message: "lava-test-raise" });
  await failed.settle("reject", "the PDU did not answer");
  assertEquals(failed.output(), { failure: { type: "Test", message: "lava-test-raise" } });
});
