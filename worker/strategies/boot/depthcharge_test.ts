import { assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows } from "../../../tests/support/pipelines.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";
import { ConfigurationError } from "../../job/errors.ts";
import { depthchargeBoot } from "./depthcharge.ts";

const JOB = {
  device_type: "x86-depthcharge",
  job_name: "depthcharge",
  timeouts: { job: { minutes: 30 }, action: { minutes: 5 } },
  actions: [
    {
      deploy: {
        to: "tftp",
        kernel: { url: "http://example.com/bzImage", type: "bzimage" },
        ramdisk: { url: "http://example.com/rootfs.cpio.gz", compression: "gz" },
        os: "oe",
      },
    },
    { boot: { method: "depthcharge", commands: "ramdisk", prompts: ["/ # "] } },
    { test: { timeout: { minutes: 5 }, definitions: [] } },
  ],
};

const device = (extra: string[] = []) => pcDevice("x86-depthcharge", "chromebook-01", "14", 8009, extra);

Deno.test("a depthcharge job's deploy packs the kernel last and its boot is LAVA's depthcharge-action (pipeline_refs/depthcharge.yaml)", () => {
  const all = rows(pipelineOf(JOB, device()).actions).map(([name, level]) => [name, level]);
  assertEquals(all.filter(([name]) => name === "prepare-kernel" || name === "prepare-fit").at(-2), [
    "prepare-kernel",
    "1.3.9",
  ]);
  assertEquals(all.filter(([, level]) => level === "2" || level.startsWith("2.")), [
    ["depthcharge-action", "2"],
    ["depthcharge-overlay", "2.1"],
    ["depthcharge-retry", "2.2"],
    ["reset-connection", "2.2.1"],
    ["disconnect-device", "2.2.1.1"],
    ["connect-device", "2.2.1.2"],
    ["reset-device", "2.2.2"],
    ["pdu-reboot", "2.2.2.1"],
    ["depthcharge-start", "2.2.3"],
    ["bootloader-commands", "2.2.4"],
    ["auto-login-action", "2.2.5"],
    ["login-action", "2.2.5.1"],
    ["expect-shell-connection", "2.2.6"],
    ["export-device-env", "2.2.7"],
  ]);
});

Deno.test("depthcharge-overlay writes the cmdline file beside the kernel and fills tftpboot with the job's files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-depthcharge-" });
  try {
    await Deno.mkdir(`${dir}/tftp/42/tftp-deploy-x/kernel`, { recursive: true });
    const logged: string[] = [];
    const ctx = testContext({
      job: JOB,
      device: device(["{% set extra_kernel_args = 'quiet' %}"]),
      dispatcher: { dispatcher_ip: "10.0.2.2", tftp_root: `${dir}/tftp` },
    });
    ctx.log.addSink((record) => void logged.push(String(record.msg)));
    ctx.downloads.set("kernel", `${dir}/tftp/42/tftp-deploy-x/kernel/bzImage`);
    ctx.downloads.set("ramdisk", `${dir}/tftp/42/tftp-deploy-x/ramdisk/ramdisk.cpio.gz`);
    const overlay = depthchargeBoot.actions()["depthcharge-overlay"];
    const block = { method: "depthcharge", commands: "ramdisk", extra_kernel_args: "loglevel=8" };
    await overlay({ ctx, block } as unknown as Parameters<typeof overlay>[0]);
    assertEquals(
      await Deno.readTextFile(`${dir}/tftp/42/tftp-deploy-x/kernel/cmdline`),
      "quiet console=ttyS0,115200n8 root=/dev/ram0 ip=dhcp loglevel=8",
    );
    assertEquals(
      logged.find((m) => m.startsWith("Parsed boot commands")),
      "Parsed boot commands: tftpboot 10.0.2.2 42/tftp-deploy-x/kernel/bzImage 42/tftp-deploy-x/kernel/cmdline " +
        "42/tftp-deploy-x/ramdisk/ramdisk.cpio.gz",
    );
    // With a FIT image, the ramdisk is inside it.
    ctx.downloads.set("fit", `${dir}/tftp/42/tftp-deploy-x/kernel/image.itb`);
    await overlay({ ctx, block } as unknown as Parameters<typeof overlay>[0]);
    assertEquals(
      logged.findLast((m) => m.startsWith("Parsed boot commands")),
      "Parsed boot commands: tftpboot 10.0.2.2 42/tftp-deploy-x/kernel/image.itb 42/tftp-deploy-x/kernel/cmdline",
    );
    await assertRejects(
      () => overlay({ ctx, block: { ...block, commands: "emmc" } } as unknown as Parameters<typeof overlay>[0]),
      ConfigurationError,
      "No cmdline found in emmc",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
