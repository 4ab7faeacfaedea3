import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, exampleJob, pipelineOf, rows, section } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

testWithExamples(
  "the u-boot boot of uboot-ramdisk.yaml on bbb-01 is LAVA's, login and shell inside uboot-commands",
  () => {
    const job = exampleJob("uboot-ramdisk-tftp.yaml");
    const pipeline = pipelineOf(job, exampleDevice("bbb-01", "beaglebone-black", job.context));
    // LAVA's description of this job on this device (its pipeline_refs/uboot-ramdisk.yaml).
    assertEquals(section(rows(pipeline.actions), "2"), [
      ["uboot-action", "2", 1, 180],
      ["uboot-from-media", "2.1", 1, 300],
      ["bootloader-overlay", "2.2", 1, 300],
      ["connect-device", "2.3", 1, 300],
      ["uboot-commands", "2.4", 1, 180],
      ["reset-device", "2.4.1", 1, 30],
      ["pdu-reboot", "2.4.1.1", 1, 30],
      ["bootloader-interrupt", "2.4.2", 1, 30],
      ["bootloader-commands", "2.4.3", 1, 180],
      ["auto-login-action", "2.4.4", 1, 540],
      ["login-action", "2.4.4.1", 1, 300],
      ["expect-shell-connection", "2.4.5", 1, 300],
      ["export-device-env", "2.4.6", 1, 300],
    ]);
  },
);

testWithExamples("a u-boot boot on a device without a hard reset reboots it from its shell, as LAVA does", () => {
  const job = exampleJob("uboot-ramdisk-tftp.yaml");
  const device = exampleDevice("bbb-01", "beaglebone-black", job.context);
  const commands = { ...(device.commands as Record<string, unknown>) };
  delete commands.hard_reset;
  const pipeline = pipelineOf(job, { ...device, commands });
  const reset = pipeline.actions[1].pipeline[3].pipeline[0];
  assertEquals([reset.name, reset.pipeline.map((a) => a.name)], ["reset-device", ["send-reboot-commands"]]);
});
