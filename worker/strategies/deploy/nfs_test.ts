import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, pipelineOf } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

testWithExamples("an nfs deploy and a qemu-nfs boot are LAVA's (its pipeline_refs/qemu-nfs.yaml)", () => {
  const image = (name: string) => ({ url: `http://example.com/${name}` });
  const job = {
    device_type: "qemu",
    job_name: "qemu-nfs",
    timeouts: { job: { minutes: 10 }, action: { minutes: 5 } },
    actions: [
      {
        deploy: {
          to: "nfs",
          os: "debian",
          images: {
            kernel: { ...image("vmlinuz"), image_arg: "-kernel {kernel}" },
            initrd: { ...image("initrd.img"), image_arg: "-initrd {initrd}" },
            nfsrootfs: { ...image("rootfs.tar.xz"), compression: "xz" },
          },
        },
      },
      {
        boot: {
          method: "qemu-nfs",
          media: "nfs",
          prompts: ["root@debian:~#"],
          auto_login: { login_prompt: "login:", username: "root" },
        },
      },
      { test: { timeout: { minutes: 5 }, definitions: [] } },
    ],
  };
  const pipeline = pipelineOf(job, exampleDevice("qemu01", "qemu"));
  const [deploy, boot] = pipeline.actions;
  assertEquals(deploy.name, "deploy-qemu-nfs");
  assertEquals(deploy.pipeline.map((a) => a.name), [
    "download-retry",
    "download-retry",
    "download-retry",
    "qemu-nfs-deploy",
    "lava-overlay",
    "apply-overlay-tftp",
    "deploy-device-env",
  ]);
  assertEquals(deploy.pipeline.filter((a) => a.name === "download-retry").map((a) => a.pipeline[0].name), [
    "http-download",
    "http-download",
    "http-download",
  ]);
  assertEquals(boot.name, "boot-image-retry");
  assertEquals(boot.pipeline.map((a) => a.name), [
    "boot-qemu-image",
    "auto-login-action",
    "expect-shell-connection",
    "export-device-env",
  ]);
  assertEquals(boot.pipeline[0].pipeline.map((a) => a.name), ["execute-qemu"]);
});
