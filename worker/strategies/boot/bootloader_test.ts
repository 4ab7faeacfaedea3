import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, pipelineOf, rows, section } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

testWithExamples(
  "a bootloader boot is LAVA's boot-bootloader-retry: overlay, connect, reset, interrupt, commands",
  () => {
    const job = {
      device_type: "beaglebone-black",
      job_name: "u-boot itself",
      timeouts: { job: { minutes: 10 }, action: { seconds: 30 } },
      actions: [{ boot: { method: "bootloader", bootloader: "u-boot", commands: ["version"], prompts: ["=>"] } }],
    };
    const pipeline = pipelineOf(job, exampleDevice("bbb-01", "beaglebone-black"));
    // As LAVA describes it (its pipeline_refs/b2260-interactive.yaml), on a device with a hard reset.
    assertEquals(section(rows(pipeline.actions), "1").map(([name, level, retries]) => [name, level, retries]), [
      ["boot-bootloader-retry", "1", 1],
      ["bootloader-overlay", "1.1", 1],
      ["boot-bootloader", "1.2", 1],
      ["connect-device", "1.2.1", 1],
      ["reset-device", "1.2.2", 1],
      ["pdu-reboot", "1.2.2.1", 1],
      ["bootloader-interrupt", "1.2.3", 1],
      ["bootloader-commands", "1.2.4", 1],
    ]);
    assertEquals(pipeline.actions[0].supported, true);
  },
);
