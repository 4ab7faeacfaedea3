import { createActor } from "xstate";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { type WorkerEvent, workerMachine } from "./worker.ts";

function worker() {
  const actor = createActor(workerMachine, { input: { hostname: "w1", health: "Active" } });
  actor.start();
  return {
    send: (event: WorkerEvent) => actor.send(event),
    state: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
  };
}

Deno.test("a worker is Offline until its session says hello", () => {
  const w = worker();
  assertEquals([w.state(), w.context().health, w.context().reportedJobLimit], ["Offline", "Active", 0]);
});

Deno.test("a worker's hello brings it Online with its version and job limit", () => {
  const w = worker();
  w.send({ type: "online", version: "2026.12", jobLimit: 2 });
  assertEquals([w.state(), w.context().version, w.context().reportedJobLimit], ["Online", "2026.12", 2]);
  assert(w.context().lastSeen !== undefined);
});

Deno.test("a new session of an Online worker updates what it reported", () => {
  const w = worker();
  w.send({ type: "online", version: "1", jobLimit: 2 });
  w.send({ type: "online", version: "2", jobLimit: 0 });
  assertEquals([w.state(), w.context().version, w.context().reportedJobLimit], ["Online", "2", 0]);
});

Deno.test("a worker's hello says what its dispatcher runs, and a hello that does not say leaves it unknown", () => {
  const w = worker();
  const capabilities = { deploy: ["tmpfs"], boot: ["qemu"], test: ["definitions"] };
  w.send({ type: "online", version: "1", jobLimit: 0, capabilities });
  assertEquals(w.context().capabilities, capabilities);
  w.send({ type: "offline" });
  assertEquals(w.context().capabilities, capabilities);
  w.send({ type: "online", version: "0.9", jobLimit: 0 });
  assertEquals(w.context().capabilities, undefined);
});

Deno.test("a worker whose session ends is Offline, keeping when it was last seen", () => {
  const w = worker();
  w.send({ type: "online", version: "1", jobLimit: 0 });
  w.send({ type: "offline" });
  assertEquals(w.state(), "Offline");
  assert(w.context().lastSeen !== undefined);
  w.send({ type: "offline" });
  assertEquals(w.state(), "Offline");
});

Deno.test("an admin sets a worker's health whether it is online or not", () => {
  const w = worker();
  w.send({ type: "health", health: "Maintenance" });
  assertEquals([w.state(), w.context().health], ["Offline", "Maintenance"]);
  w.send({ type: "online", version: "1", jobLimit: 0 });
  w.send({ type: "health", health: "Retired" });
  assertEquals([w.state(), w.context().health], ["Online", "Retired"]);
});
