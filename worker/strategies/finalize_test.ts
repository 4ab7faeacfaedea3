import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { InfrastructureError } from "../job/errors.ts";
import { powerOff } from "./finalize.ts";
import { testContext } from "../../tests/support/deploy_run.ts";
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

Deno.test("a power-off that fails still removes what the job left on the worker (exports, TFTP files)", async () => {
  const device = { actions: { deploy: { methods: {} }, boot: { methods: {} } }, timeouts: {}, constants: {} };
  const ctx = testContext({ jobId: "7", device });
  ctx.power = {
    reset: () => Promise.resolve(false),
    on: () => Promise.resolve(false),
    off: () => Promise.reject(new InfrastructureError("the PDU did not answer")),
  };
  const cleaned: string[] = [];
  ctx.cleanups.push(() => Promise.resolve(void cleaned.push("export")));
  ctx.cleanups.push(() => Promise.reject(new Error("gone already")));
  ctx.cleanups.push(() => Promise.resolve(void cleaned.push("tftp")));
  await assertRejects(() => powerOff(ctx, 1000), InfrastructureError, "the PDU did not answer");
  assertEquals(cleaned, ["export", "tftp"]);
  assertEquals(ctx.cleanups.length, 0);
});
