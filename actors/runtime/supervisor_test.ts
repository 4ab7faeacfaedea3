import { assign, setup } from "xstate";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import type { TransitionRecord } from "./journal.ts";
import { memoryLogger } from "./log.ts";
import { type Escalation, type Persistence, Supervisor } from "./supervisor.ts";
import { TransitionStream } from "./transitions.ts";

const counter = setup({
  types: { context: {} as { count: number }, events: {} as { type: "inc" } | { type: "boom" } | { type: "park" } },
  actions: {
    explode: () => {
      throw new Error("the action exploded");
    },
  },
}).createMachine({
  id: "counter",
  context: { count: 0 },
  initial: "counting",
  states: {
    counting: {
      on: {
        inc: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        boom: { actions: "explode" },
        park: { target: "parked" },
      },
    },
    parked: { on: { boom: { actions: "explode" } } },
  },
});

function recordingPersistence() {
  const snapshots = new Map<string, { sequence: number; snapshot: unknown }>();
  const transitions: TransitionRecord[] = [];
  const persistence: Persistence = {
    snapshot: (kind, id, sequence, snapshot) => snapshots.set(`${kind}/${id}`, { sequence, snapshot }),
    transition: (record) => transitions.push(record),
    removed: (kind, id) => snapshots.delete(`${kind}/${id}`),
  };
  return { snapshots, transitions, persistence };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("a child that throws is restarted from its last snapshot and its sibling is untouched", async () => {
  const logger = memoryLogger();
  const { transitions, persistence } = recordingPersistence();
  const supervisor = new Supervisor("root", { persistence, logger });
  const failing = supervisor.spawn({ kind: "device", id: "qemu01", logic: counter });
  const sibling = supervisor.spawn({ kind: "device", id: "qemu02", logic: counter });
  for (let i = 0; i < 3; i++) failing.send({ type: "inc" });
  failing.send({ type: "park" });
  sibling.send({ type: "inc" });
  failing.send({ type: "boom" });
  await settle();
  assertEquals(failing.status, "running");
  assertEquals(failing.restarts, 1);
  const snapshot = failing.getSnapshot() as unknown as { value: string; context: { count: number } };
  assertEquals([snapshot.value, snapshot.context.count], ["parked", 3]);
  assertEquals((sibling.getSnapshot() as unknown as { context: { count: number } }).context.count, 1);
  assert(logger.lines.some((l) => l.msg === "actor failed; restarting it from its last snapshot"));
  const history = transitions.filter((t) => t.actorId === "qemu01");
  assertEquals(history.map((t) => [t.sequence, t.eventType, t.stateBefore, t.stateAfter]), [
    [1, "xstate.init", null, "counting"],
    [2, "inc", "counting", "counting"],
    [3, "inc", "counting", "counting"],
    [4, "inc", "counting", "counting"],
    [5, "park", "counting", "parked"],
  ]);
  failing.send({ type: "boom" });
  await settle();
  assertEquals(failing.restarts, 2);
  supervisor.stopAll();
});

Deno.test("a child restored from a persisted snapshot resumes where it was, without a new init", () => {
  const first = recordingPersistence();
  const before = new Supervisor("root", { persistence: first.persistence });
  const original = before.spawn({ kind: "job", id: "7", logic: counter });
  original.send({ type: "inc" });
  original.send({ type: "park" });
  before.stopAll();
  const saved = first.snapshots.get("job/7")!;
  const second = recordingPersistence();
  const after = new Supervisor("root", { persistence: second.persistence });
  const restored = after.spawn({ kind: "job", id: "7", logic: counter, restore: saved });
  assertEquals((restored.getSnapshot() as unknown as { value: string }).value, "parked");
  assertEquals(second.transitions, []);
  assertEquals(restored.sequence, 3);
  after.stopAll();
});

Deno.test("a child that keeps throwing escalates to the parent, which may restart the subtree", async () => {
  const escalations: Escalation[] = [];
  const root = new Supervisor("root", {
    policy: { maxRestarts: 1, withinMs: 60_000 },
    onEscalate: (e) => escalations.push(e),
    logger: memoryLogger(),
  });
  const devices = root.subordinate("devices", { policy: { maxRestarts: 2, withinMs: 60_000 } });
  const child = devices.spawn({ kind: "device", id: "flaky", logic: counter });
  const steady = devices.spawn({ kind: "device", id: "steady", logic: counter });
  steady.send({ type: "inc" });
  for (let i = 0; i < 3; i++) {
    child.send({ type: "boom" });
    await settle();
  }
  // Third failure within the window: the devices supervisor gives up, root restarts it.
  assertEquals(escalations, []);
  assertEquals(child.status, "running");
  assertEquals((steady.getSnapshot() as unknown as { context: { count: number } }).context.count, 1);
  for (let i = 0; i < 3; i++) {
    child.send({ type: "boom" });
    await settle();
  }
  assertEquals(escalations.length, 1);
  assertEquals([escalations[0].supervisor, escalations[0].kind, escalations[0].id], ["root", "device", "flaky"]);
  root.stopAll();
});

Deno.test("every transition of every supervised actor reaches the one stream", () => {
  const stream = new TransitionStream();
  const seen: string[] = [];
  const unsubscribe = stream.subscribe((r) => seen.push(`${r.actorKind}/${r.actorId}:${r.eventType}->${r.stateAfter}`));
  const supervisor = new Supervisor("root", { transitions: stream });
  const a = supervisor.spawn({ kind: "worker", id: "w1", logic: counter });
  const b = supervisor.spawn({ kind: "job", id: "9", logic: counter });
  a.send({ type: "park" });
  b.send({ type: "inc" });
  unsubscribe();
  a.send({ type: "boom" });
  assertEquals(seen, [
    "worker/w1:xstate.init->counting",
    "job/9:xstate.init->counting",
    "worker/w1:park->parked",
    "job/9:inc->counting",
  ]);
  supervisor.stopAll();
});
