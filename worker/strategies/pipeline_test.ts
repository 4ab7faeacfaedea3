/** How the builder resolves what the strategies give it: timeouts by LAVA's precedence, methods no strategy runs. */
import { assertEquals } from "../../tests/support/assert.ts";
import type { PipelineAction } from "../../actors/definitions/pipeline.ts";
import {
  exampleDevice,
  exampleJob,
  KVM_REFERENCE,
  pipelineOf,
  referenceRows,
  rows,
} from "../../tests/support/pipelines.ts";
import { testWithExamples } from "../../tests/support/lava_examples.ts";

testWithExamples("kvm.yaml on a qemu device gives LAVA's own pipeline: names, levels, retries and timeouts", () => {
  const kvm = exampleJob("kvm.yaml");
  const pipeline = pipelineOf(kvm, exampleDevice("qemu01", "qemu", kvm.context));
  assertEquals(rows(pipeline.actions), referenceRows(KVM_REFERENCE));
  assertEquals(pipeline.jobTimeout, 600);
});

testWithExamples("named timeouts from the job and the action block win over the device's and the block's", () => {
  const kvm = exampleJob("kvm.yaml");
  const tuned = {
    ...kvm,
    timeouts: {
      ...(kvm.timeouts as object),
      actions: { "http-download": { seconds: 45 } },
      connections: { "lava-test-shell": { seconds: 7 } },
    },
    actions: (kvm.actions as Record<string, Record<string, unknown>>[]).map((action) =>
      action.boot ? { boot: { ...action.boot, timeouts: { "execute-qemu": { seconds: 11 } } } } : action
    ),
  };
  const flat = (actions: readonly PipelineAction[]): PipelineAction[] =>
    actions.flatMap((a) => [a, ...flat(a.pipeline)]);
  const all = flat(pipelineOf(tuned, exampleDevice("qemu01", "qemu", { arch: "amd64" })).actions);
  const find = (name: string) => all.find((a) => a.name === name)!;
  assertEquals(find("http-download").timeout, 45);
  assertEquals(find("execute-qemu").timeout, 11);
  assertEquals(find("lava-test-shell").connectionTimeout, 7);
  // Device default for the connection of auto-login-action: 2 minutes.
  assertEquals(find("auto-login-action").connectionTimeout, 120);
});

testWithExamples("methods Basalt's dispatcher does not run are in the pipeline, marked unsupported", () => {
  const docker = exampleJob("docker-simple.yaml");
  const pipeline = pipelineOf(docker, { timeouts: { actions: {}, connections: {} }, constants: {} });
  assertEquals(pipeline.actions.map((a) => [a.name, a.supported, a.method]), [
    ["deploy-docker", false, "docker"],
    ["boot-docker", false, "docker"],
    ["lava-test-retry", true, "definitions"],
    ["finalize", true, undefined],
  ]);
});
