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

testWithExamples(
  "the qemu boot of kvm.yaml is LAVA's: boot-image-retry, execute-qemu and the shell, with LAVA's timeouts",
  () => {
    const job = exampleJob("kvm.yaml");
    const pipeline = pipelineOf(job, exampleDevice("qemu01", "qemu", job.context));
    assertEquals(section(rows(pipeline.actions), "2"), section(referenceRows(KVM_REFERENCE), "2"));
  },
);
