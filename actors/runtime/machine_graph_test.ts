import { setup } from "xstate";
import { assertEquals } from "../../tests/support/assert.ts";
import { machineGraph } from "./machine_graph.ts";

Deno.test("a machine's graph lists its states, initial children, events, targets and guards", () => {
  const machine = setup({
    guards: { healthy: () => true },
    actions: { notify: () => {} },
  }).createMachine({
    id: "device",
    initial: "Idle",
    states: {
      Idle: { on: { reserve: { target: "Reserved", guard: "healthy" } } },
      Reserved: {
        initial: "Waiting",
        states: { Waiting: { on: { go: "Ready" } }, Ready: { type: "final" } },
        on: { release: { target: "Idle", actions: "notify" } },
        onDone: "Running",
      },
      Running: { always: { target: "Idle", guard: "healthy" }, tags: ["busy"] },
    },
  });
  const graph = machineGraph(machine);
  assertEquals(graph.machine, "device");
  assertEquals(graph.states.map((s) => [s.id, s.type, s.parent, s.initial]), [
    ["", "compound", null, "Idle"],
    ["Idle", "atomic", "", null],
    ["Reserved", "compound", "", "Reserved.Waiting"],
    ["Reserved.Waiting", "atomic", "Reserved", null],
    ["Reserved.Ready", "final", "Reserved", null],
    ["Running", "atomic", "", null],
  ]);
  const simple = graph.transitions.map((t) => [t.source, t.event, t.targets, t.guard, t.actions]);
  assertEquals(simple, [
    ["Idle", "reserve", ["Reserved"], "healthy", []],
    ["Reserved", "release", ["Idle"], null, ["notify"]],
    ["Reserved", "xstate.done.state.device.Reserved", ["Running"], null, []],
    ["Reserved.Waiting", "go", ["Reserved.Ready"], null, []],
    ["Running", "", ["Idle"], "healthy", []],
  ]);
  assertEquals(graph.states.find((s) => s.id === "Running")?.tags, ["busy"]);
});
