import { assertEquals } from "../tests/support/assert.ts";
import { pcDevice, pipelineOf, templateDevice } from "../tests/support/pipelines.ts";
import { jobIssues } from "../actors/definitions/job_schema.ts";
import type { PipelineAction } from "../actors/definitions/pipeline.ts";
import { firmwareHealthChecks, sshHealthCheck } from "./dut_jobs.ts";

const unsupported = (actions: readonly PipelineAction[]): string[] =>
  actions.flatMap((a) => [...(a.supported ? [] : [a.name]), ...unsupported(a.pipeline)]);

Deno.test("every device type on real firmware has a health check its template's device runs with Basalt's strategies", () => {
  const checks = firmwareHealthChecks((name) => `/srv/dut/${name}`);
  assertEquals(Object.keys(checks).sort(), [
    "arm64-depthcharge",
    "fastboot",
    "qemu-aarch64-uboot",
    "x86",
    "x86-depthcharge",
    "x86-grub",
    "x86-uefi",
    "x86-uefi-menu",
  ]);
  for (const [type, job] of Object.entries(checks)) {
    assertEquals(job.device_type, type);
    assertEquals(jobIssues(job).map((i) => `${i.path.join(".")}: ${i.message}`), [], type);
    const pipeline = pipelineOf(job, pcDevice(type, `${type}-01`, "11", 8006));
    assertEquals(unsupported(pipeline.actions), [], type);
    assertEquals(pipeline.actions.map((a) => a.section), ["deploy", "boot", "test", "finalize"], type);
  }
});

Deno.test("the ssh device type's health check is valid and runs with Basalt's strategies", () => {
  const job = sshHealthCheck();
  assertEquals(jobIssues(job).map((i) => `${i.path.join(".")}: ${i.message}`), []);
  const pipeline = pipelineOf(job, templateDevice("ssh", "server-01", ["{% set ssh_host = '10.0.0.7' %}"]));
  assertEquals(unsupported(pipeline.actions), []);
  assertEquals(pipeline.actions.map((a) => a.section), ["deploy", "boot", "test", "finalize"]);
});
