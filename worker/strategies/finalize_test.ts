import { assertEquals } from "../../tests/support/assert.ts";
import {
  exampleDevice,
  exampleJob,
  KVM_REFERENCE,
  pipelineOf,
  referenceRows,
  rows,
  section,
} from "../../tests/support/pipelines.ts";
import { testWithExamples } from "../../tests/support/lava_examples.ts";

testWithExamples("every job ends with LAVA's finalize: power-off and read-feedback", () => {
  const job = exampleJob("kvm.yaml");
  const pipeline = pipelineOf(job, exampleDevice("qemu01", "qemu", job.context));
  assertEquals(section(rows(pipeline.actions), "4"), section(referenceRows(KVM_REFERENCE), "4"));
});
