import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, exampleJob, pipelineOf } from "../../../tests/support/pipelines.ts";

Deno.test("a tftp deploy downloads the kernel, ramdisk and device tree and unpacks the overlay into the ramdisk", () => {
  const job = exampleJob("uboot-ramdisk-tftp.yaml");
  const pipeline = pipelineOf(job, exampleDevice("bbb-01", "beaglebone-black", job.context));
  const deploy = pipeline.actions[0];
  assertEquals([deploy.name, deploy.section, deploy.supported, deploy.timeout], ["tftp-deploy", "deploy", true, 120]);
  assertEquals(deploy.pipeline.filter((a) => a.name === "download-retry").map((a) => a.item), [
    "kernel",
    "ramdisk",
    "dtb",
  ]);
  const prepare = deploy.pipeline.find((a) => a.name === "prepare-tftp-overlay")!;
  assertEquals(prepare.pipeline.map((a) => a.name), ["lava-overlay", "apply-overlay-tftp"]);
});
