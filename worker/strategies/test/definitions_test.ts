import { assertEquals } from "../../../tests/support/assert.ts";
import {
  exampleDevice,
  exampleJob,
  KVM_REFERENCE,
  pipelineOf,
  referenceRows,
  rows,
  section,
} from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

testWithExamples("a test action with definitions is LAVA's lava-test-retry around lava-test-shell", () => {
  const kvm = exampleJob("kvm.yaml");
  const onQemu = pipelineOf(kvm, exampleDevice("qemu01", "qemu", kvm.context));
  assertEquals(section(rows(onQemu.actions), "3"), section(referenceRows(KVM_REFERENCE), "3"));
  // LAVA's description of uboot-ramdisk.yaml on bbb-01 (its pipeline_refs/uboot-ramdisk.yaml).
  const uboot = exampleJob("uboot-ramdisk-tftp.yaml");
  const onBoard = pipelineOf(uboot, exampleDevice("bbb-01", "beaglebone-black", uboot.context));
  assertEquals(section(rows(onBoard.actions), "3"), [["lava-test-retry", "3", 3, 300], [
    "lava-test-shell",
    "3.1",
    1,
    420,
  ]]);
});
