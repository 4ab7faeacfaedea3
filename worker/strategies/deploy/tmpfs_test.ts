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

testWithExamples("the tmpfs deploy of kvm.yaml is LAVA's: overlay, test definitions, downloads, guest overlay", () => {
  const job = exampleJob("kvm.yaml");
  const pipeline = pipelineOf(job, exampleDevice("qemu01", "qemu", job.context));
  assertEquals(section(rows(pipeline.actions), "1"), section(referenceRows(KVM_REFERENCE), "1"));
  const downloads = pipeline.actions[0].pipeline.filter((a) => a.name === "download-retry");
  assertEquals(downloads.map((a) => a.pipeline[0].url), [
    "http://images.validation.linaro.org/kvm-debian-wheezy.img.gz",
    "http://images.validation.linaro.org/kvm-debian-wheezy.img.gz",
  ]);
});
