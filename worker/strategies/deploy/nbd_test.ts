import { assert, assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { exampleDevice, pipelineOf } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";
import { deployRun } from "../../../tests/support/deploy_run.ts";
import { inlineTest } from "../../../ops/dut_jobs.ts";
import { JobError } from "../../job/errors.ts";

const nbdJob = (dir: string, boot: Record<string, unknown> = {}) => ({
  device_type: "beaglebone-black",
  job_name: "nbd",
  timeouts: { job: { minutes: 10 }, action: { minutes: 5 } },
  protocols: { "lava-xnbd": { port: "auto" } },
  actions: [
    {
      deploy: {
        to: "nbd",
        kernel: { url: `file://${dir}/zImage`, type: "zimage" },
        initrd: { url: `file://${dir}/initrd.img` },
        nbdroot: { url: `file://${dir}/rootfs.ext4` },
        dtb: { url: `file://${dir}/board.dtb` },
        os: "oe",
      },
    },
    { boot: { method: "u-boot", commands: "nbd", prompts: ["/ # "], ...boot } },
    { test: { timeout: { minutes: 5 }, definitions: [inlineTest("smoke", ["true"])] } },
  ],
});

testWithExamples("an nbd deploy and its u-boot boot are LAVA's (its pipeline_refs/bbb-initrd-nbd.yaml)", () => {
  const transfer = { transfer_overlay: { download_command: "wget -q", unpack_command: "tar -C / -xzf" } };
  const pipeline = pipelineOf(nbdJob("/srv", transfer), exampleDevice("bbb-01", "beaglebone-black"));
  const [deploy, boot] = pipeline.actions;
  assertEquals([deploy.name, deploy.section], ["nbd-deploy", "deploy"]);
  assertEquals(deploy.pipeline.map((a) => a.name), [
    "download-retry",
    "download-retry",
    "download-retry",
    "download-retry",
    "lava-overlay",
    "prepare-kernel",
    "xnbd-server-deploy",
  ]);
  assertEquals(deploy.pipeline.filter((a) => a.name === "download-retry").map((a) => a.item), [
    "initrd",
    "kernel",
    "dtb",
    "nbdroot",
  ]);
  assertEquals(deploy.pipeline[5].pipeline.map((a) => a.name), ["uboot-prepare-kernel"]);
  assertEquals(boot.name, "uboot-action");
  const commands = boot.pipeline.find((a) => a.name === "uboot-commands")!;
  // LAVA puts overlay-unpack after the shell is there, before the environment is exported.
  assertEquals(commands.pipeline.map((a) => a.name), [
    "reset-device",
    "bootloader-interrupt",
    "bootloader-commands",
    "auto-login-action",
    "expect-shell-connection",
    "overlay-unpack",
    "export-device-env",
  ]);
});

Deno.test("an nbd deploy serves its nbdroot with a real nbd-server for the job only, and needs its initrd", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["zImage", "initrd.img", "board.dtb"]) await Deno.writeTextFile(`${dir}/${name}`, name);
    await Deno.writeFile(`${dir}/rootfs.ext4`, new Uint8Array(1 << 20));
    const device = {
      actions: { deploy: { methods: { nbd: {} } }, boot: { methods: { "u-boot": {} } } },
      timeouts: { actions: {}, connections: {} },
      constants: {},
      parameters: { zimage: { kernel: "0x82000000", ramdisk: "0x83000000", dtb: "0x88000000" } },
    };
    const job = nbdJob(dir);
    const dispatcher = { tftp_root: `${dir}/srv`, dispatcher_ip: "127.0.0.1" };
    await Deno.mkdir(`${dir}/srv`);
    const { ctx, run } = await deployRun({ jobId: "42", job, device, dir, dispatcher });
    await run();
    const server = ctx.nbdServer!;
    assertEquals(server.ip, "127.0.0.1");
    assert(ctx.downloads.get("initrd")!.startsWith(`${dir}/srv/42/nbd-`), ctx.downloads.get("initrd"));
    // The NBD server's newstyle greeting: "NBDMAGIC" then "IHAVEOPT".
    const connection = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const greeting = new Uint8Array(16);
    let read = 0;
    while (read < 16) read += (await connection.read(greeting.subarray(read))) ?? 16;
    connection.close();
    assertEquals(new TextDecoder().decode(greeting), "NBDMAGICIHAVEOPT");
    for (const cleanup of ctx.cleanups.splice(0)) await cleanup();
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: server.port }).then((c) => {
      c.close();
      return false;
    }, () => true);
    assert(refused, "the NBD server is gone when the job ends");
    assertEquals([...Deno.readDirSync(`${dir}/srv`)], [], "and so are the job's TFTP files");

    const { initrd: _, ...withoutInitrd } = job.actions[0].deploy as Record<string, unknown>;
    const missing = await deployRun({
      jobId: "43",
      job: { ...job, actions: [{ deploy: withoutInitrd }, ...job.actions.slice(1)] },
      device,
      dir: await Deno.makeTempDir({ dir }),
      dispatcher,
    });
    await assertRejects(missing.run, JobError, "nbd-deploy needs an initrd");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
