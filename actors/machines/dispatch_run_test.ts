import { createActor } from "xstate";
import { assertEquals } from "../../tests/support/assert.ts";
import type { JobLogLine } from "../lab/protocol.ts";
import { type DispatchRunEvent, dispatchRunMachine } from "./dispatch_run.ts";

/** A job's run on a worker whose effects (messages, signals) are recorded instead of done. */
function run() {
  const effects: string[] = [];
  const actor = createActor(
    dispatchRunMachine.provide({
      actions: {
        reportStarted: ({ context }) => effects.push(`started ${context.job} pid ${context.pid}`),
        reportLog: (_, { from, lines }) => effects.push(`log ${from}+${lines.length}`),
        reportEnd: ({ context }) => effects.push(`end ${context.outcome?.result} ${context.outcome?.errorType ?? "-"}`),
        terminate: ({ context }) => effects.push(`SIGTERM ${context.pid}`),
        kill: ({ context }) => effects.push(`SIGKILL ${context.pid}`),
      },
    }),
    { input: { job: "12" } },
  );
  actor.start();
  return {
    effects,
    send: (event: DispatchRunEvent) => actor.send(event),
    state: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    done: () => actor.getSnapshot().status === "done",
  };
}

const lines = (n: number): JobLogLine[] =>
  Array.from({ length: n }, (_, i) => ({ dt: "2026-12-03T10:00:00", lvl: "info", msg: `line ${i}` }) as JobLogLine);

Deno.test("a run starts when its dispatcher is spawned and tells the master", () => {
  const r = run();
  assertEquals(r.state(), "starting");
  r.send({ type: "spawned", pid: 4242, startTime: "123" });
  assertEquals([r.state(), r.context().pid, r.context().startTime], ["running", 4242, "123"]);
  assertEquals(r.effects, ["started 12 pid 4242"]);
});

Deno.test("log lines go to the master numbered on from the last sent, with the file offset kept", () => {
  const r = run();
  r.send({ type: "spawned", pid: 1, startTime: "1" });
  r.send({ type: "log", lines: lines(3), offset: 120 });
  r.send({ type: "log", lines: lines(2), offset: 200 });
  assertEquals([r.context().nextLine, r.context().offset], [5, 200]);
  assertEquals(r.effects.slice(1), ["log 0+3", "log 3+2"]);
});

Deno.test("the dispatcher's exit ends the run with its outcome, reported once", () => {
  const r = run();
  r.send({ type: "spawned", pid: 1, startTime: "1" });
  r.send({ type: "exited", outcome: { result: "fail", errorType: "Job", errorMsg: "no kernel" } });
  assertEquals([r.state(), r.done()], ["finished", true]);
  assertEquals(r.effects.at(-1), "end fail Job");
  r.send({ type: "exited", outcome: { result: "pass" } });
  assertEquals(r.effects.filter((e) => e.startsWith("end")).length, 1);
});

Deno.test("a dispatcher that cannot be spawned ends the run as the lab's failure", () => {
  const r = run();
  r.send({ type: "spawn.failed", message: "ENOENT" });
  assertEquals([r.state(), r.context().outcome?.errorType], ["finished", "Infrastructure"]);
  assertEquals(r.context().outcome?.errorMsg, "the worker could not start the dispatcher: ENOENT");
  assertEquals(r.effects, ["end fail Infrastructure"]);
});

Deno.test("a cancel before the dispatcher exists ends the run Canceled with nothing to stop", () => {
  const r = run();
  r.send({ type: "cancel" });
  assertEquals([r.state(), r.context().outcome?.errorType], ["finished", "Canceled"]);
  assertEquals(r.effects, ["end fail Canceled"]);
});

Deno.test("a cancel terminates the running dispatcher; after the grace period it is killed; its exit ends the run", () => {
  const r = run();
  r.send({ type: "spawned", pid: 77, startTime: "1" });
  r.send({ type: "cancel" });
  assertEquals([r.state(), r.effects.at(-1)], ["cancelling", "SIGTERM 77"]);
  r.send({ type: "cancel" }); // a second cancel sends nothing more
  assertEquals(r.effects.filter((e) => e.startsWith("SIGTERM")).length, 1);
  r.send({ type: "grace.expired" });
  assertEquals([r.state(), r.effects.at(-1)], ["killed", "SIGKILL 77"]);
  r.send({ type: "log", lines: lines(1), offset: 10 });
  r.send({ type: "exited", outcome: { result: "fail", errorType: "Canceled" } });
  assertEquals([r.state(), r.effects.slice(-2)], ["finished", ["log 0+1", "end fail Canceled"]]);
});

Deno.test("a dispatcher that exits during its grace period ends the run without being killed", () => {
  const r = run();
  r.send({ type: "spawned", pid: 9, startTime: "1" });
  r.send({ type: "cancel" });
  r.send({ type: "exited", outcome: { result: "fail", errorType: "Canceled" } });
  r.send({ type: "grace.expired" });
  assertEquals(r.state(), "finished");
  assertEquals(r.effects.some((e) => e.startsWith("SIGKILL")), false);
});

Deno.test("events a state does not take are ignored: no grace expiry while running, no spawn twice", () => {
  const r = run();
  r.send({ type: "grace.expired" });
  assertEquals(r.state(), "starting");
  r.send({ type: "spawned", pid: 1, startTime: "1" });
  r.send({ type: "spawned", pid: 2, startTime: "2" });
  r.send({ type: "grace.expired" });
  assertEquals([r.state(), r.context().pid, r.effects], ["running", 1, ["started 12 pid 1"]]);
});
