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
import { cpioArchive, gzip } from "../../overlay/cpio.ts";
import { deployRun } from "../../../tests/support/deploy_run.ts";
import { inlineTest } from "../../../ops/dut_jobs.ts";

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

/** Runs the tmpfs deploy of a kernel, an initramfs and `more` images (files in `dir`) with one inline test. */
async function deployImages(dir: string, more: Record<string, unknown>) {
  await Deno.mkdir(`${dir}/empty`);
  await Deno.writeFile(
    `${dir}/initrd.cpio.gz`,
    await gzip(await cpioArchive(`${dir}/empty`) as Uint8Array<ArrayBuffer>),
  );
  await Deno.writeTextFile(`${dir}/vmlinuz`, "kernel\n");
  await Deno.writeTextFile(`${dir}/rootfs.img`, "a root filesystem\n");
  const device = { actions: { deploy: { methods: { image: {} } }, boot: { methods: { qemu: {} } } }, constants: {} };
  const job = {
    device_type: "qemu",
    job_name: "tmpfs",
    timeouts: { job: { minutes: 2 }, action: { minutes: 1 } },
    actions: [{
      deploy: {
        to: "tmpfs",
        images: {
          kernel: { url: `file://${dir}/vmlinuz`, image_arg: "-kernel {kernel}" },
          initrd: { url: `file://${dir}/initrd.cpio.gz`, image_arg: "-initrd {initrd}" },
          ...more,
        },
      },
    }, {
      test: { timeout: { minutes: 1 }, definitions: [inlineTest("hello", ["true"])] },
    }],
  };
  const { ctx, run } = await deployRun({ jobId: "7", job, device, dir });
  await run();
  return ctx;
}

Deno.test("the overlay goes into an initramfs that is the root filesystem (a firmware beside it too), and on a drive beside one that hands over to a disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const alone = await deployImages(`${dir}`, {});
    assertEquals([alone.overlayOnDevice, alone.overlayImage], [true, undefined]);
    await Deno.mkdir(`${dir}/with-disk`);
    const withDisk = await deployImages(`${dir}/with-disk`, {
      rootfs: { url: `file://${dir}/with-disk/rootfs.img`, image_arg: "-drive format=raw,file={rootfs},if=virtio" },
    });
    assertEquals(withDisk.overlayOnDevice, false);
    assertEquals(withDisk.overlayImage, `${dir}/with-disk/work/overlay.ext2`);
    // A firmware beside the initramfs is no disk: the overlay stays in the initramfs.
    await Deno.mkdir(`${dir}/with-bios`);
    const withBios = await deployImages(`${dir}/with-bios`, {
      bios: { url: `file://${dir}/with-bios/rootfs.img`, image_arg: "-bios {bios}" },
    });
    assertEquals([withBios.overlayOnDevice, withBios.overlayImage], [true, undefined]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
