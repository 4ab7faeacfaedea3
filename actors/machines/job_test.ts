import { createActor } from "xstate";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import type { JobStart } from "../lab/protocol.ts";
import { type JobContext, type JobEvent, jobMachine } from "./job.ts";

const START: JobStart = { job: "5", definition: "job_name: x\n", device: "device_type: qemu\n" };

/** A job actor whose effects are recorded instead of sent. */
function job(healthCheck = false) {
  const effects: string[] = [];
  const actor = createActor(
    jobMachine.provide({
      actions: {
        dispatch: ({ context }, { start }) => effects.push(`dispatch ${context.worker} ${start.job}`),
        sendCancel: ({ context }) => effects.push(`cancel ${context.worker ?? "-"}`),
      },
    }),
    { input: { id: "5", healthCheck } },
  );
  actor.start();
  const send = (event: JobEvent) => actor.send(event);
  const state = () => actor.getSnapshot().value as string;
  const context = (): JobContext => actor.getSnapshot().context;
  return { send, state, context, effects, done: () => actor.getSnapshot().status === "done" };
}

const schedule = { type: "schedule", device: "qemu01", worker: "w1", start: START } as const;

Deno.test("a job starts Submitted with health Unknown", () => {
  const j = job();
  assertEquals([j.state(), j.context().health, j.effects], ["Submitted", "Unknown", []]);
});

Deno.test("scheduling a job sends its start message to its worker and keeps its device", () => {
  const j = job();
  j.send(schedule);
  assertEquals([j.state(), j.context().device, j.context().worker], ["Scheduled", "qemu01", "w1"]);
  assertEquals(j.effects, ["dispatch w1 5"]);
});

Deno.test("a job whose start cannot be sent fails as the job's error and is never sent", () => {
  const j = job();
  j.send({ ...schedule, problem: "too large" });
  assertEquals(j.state(), "Finished");
  assertEquals(j.context().health, "Incomplete");
  assertEquals(j.context().errorType, "Job");
  assertEquals(j.context().errorMsg, "the job cannot be sent to its worker: too large");
  assertEquals(j.effects, []);
  assert(j.context().endTime !== undefined);
});

Deno.test("a reserved MultiNode sub-job waits in Scheduling and is sent when its group is complete", () => {
  const j = job();
  j.send({ type: "reserve", device: "qemu02", worker: "w2" });
  assertEquals([j.state(), j.effects], ["Scheduling", []]);
  j.send({ type: "schedule", start: START });
  assertEquals([j.state(), j.context().device, j.effects], ["Scheduled", "qemu02", ["dispatch w2 5"]]);
});

Deno.test("a reserved sub-job whose start cannot be sent fails", () => {
  const j = job();
  j.send({ type: "reserve", device: "qemu02", worker: "w2" });
  j.send({ type: "schedule", start: START, problem: "bad" });
  assertEquals([j.state(), j.context().health, j.context().device], ["Finished", "Incomplete", "qemu02"]);
});

Deno.test("a queued or reserved job is cancelled at once, without a message to any worker", () => {
  for (const reserve of [false, true]) {
    const j = job();
    if (reserve) j.send({ type: "reserve", device: "qemu02", worker: "w2" });
    j.send({ type: "cancel" });
    assertEquals([j.state(), j.context().health, j.effects], ["Finished", "Canceled", []]);
    assert(j.done());
  }
});

Deno.test("a job the worker reports started is Running with a start time", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "started" });
  assertEquals(j.state(), "Running");
  assert(j.context().startTime !== undefined);
});

Deno.test("a job its worker refuses goes back to Submitted without a device", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "refused", reason: "job limit" });
  assertEquals([j.state(), j.context().device, j.context().worker], ["Submitted", undefined, undefined]);
});

Deno.test("a refusal once the job runs is ignored", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "started" });
  j.send({ type: "refused", reason: "late" });
  assertEquals(j.state(), "Running");
});

Deno.test("cancelling a scheduled or running job asks its worker and waits for its end", () => {
  for (const started of [false, true]) {
    const j = job();
    j.send(schedule);
    if (started) j.send({ type: "started" });
    j.send({ type: "cancel" });
    assertEquals([j.state(), j.effects.at(-1)], ["Canceling", "cancel w1"]);
    j.send({ type: "cancel" });
    assertEquals(j.effects.filter((e) => e.startsWith("cancel")).length, 1);
  }
});

Deno.test("a job being cancelled ends Canceled whatever its worker reports", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "started" });
  j.send({ type: "cancel" });
  j.send({ type: "finished", result: "pass", description: "d" });
  assertEquals([j.state(), j.context().health, j.context().description], ["Finished", "Canceled", "d"]);
});

Deno.test("a passing run ends Complete and a failing one Incomplete with its error", () => {
  const pass = job();
  pass.send(schedule);
  pass.send({ type: "started" });
  pass.send({ type: "finished", result: "pass" });
  assertEquals(pass.context().health, "Complete");
  const fail = job();
  fail.send(schedule);
  fail.send({ type: "started" });
  fail.send({ type: "finished", result: "fail", errorType: "Infrastructure", errorMsg: "no power" });
  assertEquals([fail.context().health, fail.context().errorType, fail.context().errorMsg], [
    "Incomplete",
    "Infrastructure",
    "no power",
  ]);
});

Deno.test("a run its dispatcher reports Canceled ends Canceled", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "finished", result: "fail", errorType: "Canceled" });
  assertEquals(j.context().health, "Canceled");
});

Deno.test("an abort ends the job Incomplete from any running state", () => {
  for (const steps of [[], [schedule], [schedule, { type: "started" } as const]]) {
    const j = job();
    for (const step of steps) j.send(step);
    j.send({ type: "abort", errorType: "Infrastructure", errorMsg: "worker lost its state" });
    assertEquals([j.state(), j.context().health, j.context().errorType], ["Finished", "Incomplete", "Infrastructure"]);
  }
});

Deno.test("a finished job takes no further event", () => {
  const j = job();
  j.send(schedule);
  j.send({ type: "finished", result: "pass" });
  j.send({ type: "abort", errorType: "Bug", errorMsg: "late" });
  j.send({ type: "cancel" });
  assertEquals([j.state(), j.context().health], ["Finished", "Complete"]);
});
