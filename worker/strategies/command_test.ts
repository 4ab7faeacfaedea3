import { assertEquals } from "../../tests/support/assert.ts";
import { exampleDevice, pipelineOf, rows } from "../../tests/support/pipelines.ts";
import { testWithExamples } from "../../tests/support/lava_examples.ts";

testWithExamples("a command action is LAVA's user-command, with its block's timeout", () => {
  const job = {
    device_type: "qemu",
    job_name: "command",
    timeouts: { job: { minutes: 10 } },
    actions: [{ command: { name: "relay_on", timeout: { minutes: 1 } } }],
  };
  const pipeline = pipelineOf(job, exampleDevice("qemu01", "qemu"));
  assertEquals(rows(pipeline.actions).slice(0, 1), [["user-command", "1", 1, 60]]);
  assertEquals(pipeline.actions[0].supported, true);
});
