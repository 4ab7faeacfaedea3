import { assertStringIncludes, assertThrows } from "../support/assert.ts";
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

Deno.test("a misspelt field is refused rather than silently ignored", () => {
  const error = assertThrows(
    () =>
      parseScenario(
        "typo.yaml",
        "name: x\njob: { kind: qemu-ticks }\nfault: { do: kill-worker, at: { submit: true }, restart_after: 5 }\n" +
          "expect: { health: Complete }\n",
      ),
    ScenarioError,
    "typo.yaml:3:",
  );
  assertStringIncludes(error.message, "fault.restart_after: unknown field");
});

Deno.test("a job run meanwhile needs a process that is down and comes back", () => {
  assertThrows(
    () =>
      parseScenario(
        "meanwhile.yaml",
        "name: x\nworkers: 2\njob: { kind: qemu-ticks }\nfault: { do: cut-zmq, at: { submit: true } }\n" +
          "expect: { health: Complete, meanwhile: Complete }\n",
      ),
    ScenarioError,
    "meanwhile.yaml:5:",
  );
  assertThrows(
    () =>
      parseScenario(
        "workers.yaml",
        "name: x\nworkers: 3\njob: { kind: qemu-ticks }\nfault: { do: none, at: { submit: true } }\n" +
          "expect: { health: Complete }\n",
      ),
    ScenarioError,
    "workers.yaml:2:10: workers: must be 1 or 2",
  );
});

Deno.test("a fault of the firmware board's own parts needs that board, and an expected message must be a pattern", () => {
  assertThrows(
    () =>
      parseScenario(
        "nfs.yaml",
        "name: x\njob: { kind: qemu-ticks }\nfault: { do: nfs-restart, at: { submit: true } }\n" +
          "expect: { health: Complete }\n",
      ),
    ScenarioError,
    "nfs.yaml:3:14: fault.do: nfs-restart needs job kind uboot-nfs",
  );
  assertThrows(
    () =>
      parseScenario(
        "msg.yaml",
        "name: x\njob: { kind: uboot-ramdisk }\nfault: { do: tftp-gone, at: { submit: true } }\n" +
          "expect: { health: Incomplete, error_msg: 'Retry (count' }\n",
      ),
    ScenarioError,
    "msg.yaml:4:",
  );
});
