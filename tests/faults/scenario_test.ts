import { assertThrows } from "../support/assert.ts";
import { loadScenarios } from "./main.ts";
import { parseScenario, ScenarioError } from "./scenario.ts";

Deno.test("every scenario file parses, and there are at least 15", () => {
  const scenarios = loadScenarios();
  if (scenarios.length < 15) throw new Error(`only ${scenarios.length} scenarios`);
});

Deno.test("a mistake in a scenario names the file, line and field", () => {
  assertThrows(
    () =>
      parseScenario(
        "bad.yaml",
        "name: x\njob: { kind: qemu-ticks }\nfault:\n  do: explode\n  at: { submit: true }\nexpect: { health: Complete }\n",
      ),
    ScenarioError,
    "bad.yaml:4:7: fault.do: must be one of",
  );
  assertThrows(
    () =>
      parseScenario(
        "bad.yaml",
        "name: x\njob: { kind: qemu-ticks }\nfault: { do: none, at: {} }\nexpect: { health: Complete }\n",
      ),
    ScenarioError,
    "fault.at",
  );
});
