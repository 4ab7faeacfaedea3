import { assert, assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { exampleDevice, exampleJob, pipelineOf } from "../../../tests/support/pipelines.ts";
import { deployRun } from "../../../tests/support/deploy_run.ts";
import { inlineTest } from "../../../ops/dut_jobs.ts";
import { readInitramfs } from "../../sim/newc.ts";
import { gunzipSync } from "node:zlib";
import { ConfigurationError, InfrastructureError, JobError } from "../../job/errors.ts";
import { startGanesha } from "../../../tests/support/ganesha.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

testWithExamples("a tftp deploy is LAVA's: downloads, then prepare-tftp-overlay with its seven steps", () => {
  const job = exampleJob("uboot-ramdisk-tftp.yaml");
  const pipeline = pipelineOf(job, exampleDevice("bbb-01", "beaglebone-black", job.context));
  const deploy = pipeline.actions[0];
  assertEquals([deploy.name, deploy.section, deploy.supported, deploy.timeout], ["tftp-deploy", "deploy", true, 120]);
  assertEquals(deploy.pipeline.filter((a) => a.name === "download-retry").map((a) => a.item), [
    "ramdisk",
    "kernel",
    "dtb",
  ]);
  const prepare = deploy.pipeline.find((a) => a.name === "prepare-tftp-overlay")!;
  assertEquals(prepare.pipeline.map((a) => a.name), [
    "extract-nfsrootfs",
    "lava-overlay",
    "extract-overlay-ramdisk",
    "extract-modules",
    "apply-overlay-tftp",
    // The job's kernel has a type and the device boots U-Boot: LAVA adds its kernel preparation.
    "prepare-kernel",
    "configure-preseed-file",
    "compress-ramdisk",
  ]);
  assertEquals(prepare.pipeline[5].pipeline.map((a) => a.name), ["uboot-prepare-kernel"]);
});

const sh = async (script: string, cwd: string) => {
  const out = await new Deno.Command("sh", { args: ["-ec", script], cwd, stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
};

/** A device whose ramdisks get a U-Boot header, and a job deploying files from `dir` to TFTP. */
async function deployJob(
  dir: string,
  ramdisk: Record<string, unknown>,
  more: { files?: Record<string, unknown>; dispatcher?: Record<string, unknown> } = {},
) {
  const tftpRoot = `${dir}/srv`;
  await Deno.mkdir(tftpRoot);
  const device = {
    actions: {
      deploy: { methods: { tftp: {} }, parameters: { add_header: "u-boot", mkimage_arch: "arm" } },
      boot: { methods: {} },
    },
    timeouts: { actions: {}, connections: {} },
    constants: {},
  };
  const job = {
    device_type: "board",
    job_name: "tftp",
    timeouts: { job: { minutes: 2 }, action: { minutes: 1 } },
    actions: [{
      deploy: {
        to: "tftp",
        kernel: { url: `file://${dir}/zImage` },
        ramdisk: { url: `file://${dir}/${ramdisk.name}`, ...ramdisk.options as object },
        modules: { url: `file://${dir}/modules.tar.xz`, compression: "xz" },
        ...more.files,
      },
    }, {
      test: { timeout: { minutes: 1 }, definitions: [inlineTest("hello", ["true"])] },
    }],
  };
  const dispatcher = { tftp_root: tftpRoot, ...more.dispatcher };
  const { ctx, run, logged } = await deployRun({ jobId: "42", job, device, dir, dispatcher });
  return { ctx, run, tftpRoot, said: () => logged.map((r) => String(r.msg)) };
}

/** A base ramdisk (one file), gzipped and given a U-Boot header, and a modules tarball. */
async function inputs(dir: string) {
  await sh(
    [
      "mkdir -p rd/etc mods/lib/modules/6.1.0",
      "echo base > rd/etc/base",
      "echo module > mods/lib/modules/6.1.0/m.ko",
      "(cd rd && find . | cpio -o -H newc --quiet) | gzip > rootfs.cpio.gz",
      "mkimage -A arm -T ramdisk -C none -d rootfs.cpio.gz rootfs.cpio.gz.uboot >/dev/null",
      "tar -C mods -cJf modules.tar.xz lib",
      "echo kernel > zImage",
    ].join(" && "),
    dir,
  );
}

Deno.test("a tftp deploy puts the job's files under the TFTP root and rebuilds its ramdisk with the overlay and modules", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await inputs(dir);
    const { ctx, run, tftpRoot } = await deployJob(dir, {
      name: "rootfs.cpio.gz.uboot",
      options: { compression: "gz", header: "u-boot" },
    });
    await run();
    const kernel = ctx.downloads.get("kernel")!;
    assert(kernel.startsWith(`${tftpRoot}/42/tftp-deploy-`) && kernel.endsWith("/kernel/zImage"), kernel);
    const ramdisk = ctx.downloads.get("ramdisk")!;
    assert(ramdisk.endsWith("/ramdisk/ramdisk.cpio.gz.uboot"), ramdisk);
    const image = await Deno.readFile(ramdisk);
    assertEquals([...image.subarray(0, 4)], [0x27, 0x05, 0x19, 0x56]);
    const names = readInitramfs(new Uint8Array(gunzipSync(image.subarray(64)))).map((f) => f.name);
    for (
      const name of [
        "etc/base",
        "lib/modules/6.1.0/m.ko",
        "lava-42/bin/lava-test-runner",
        "lava-42/0/tests/0_hello/run.sh",
      ]
    ) {
      assert(names.includes(name), `${name} is not in the ramdisk: ${names.join(" ")}`);
    }
    assert(ctx.overlayOnDevice);
    // Whatever happens, the end of the job removes the job's TFTP directory.
    for (const cleanup of ctx.cleanups.splice(0)) await cleanup();
    assertEquals([...Deno.readDirSync(tftpRoot)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a ramdisk declared with a U-Boot header that has none is the job's error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await inputs(dir);
    const { run } = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz", header: "u-boot" } });
    await assertRejects(run, JobError, 'declared "header: u-boot" but has no U-Boot image header');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an nfsrootfs is unpacked with the overlay and modules in it, then exported by nfs-ganesha while the job runs", async () => {
  const dir = await Deno.makeTempDir();
  const ganesha = await startGanesha();
  try {
    await inputs(dir);
    // A merged-/usr root, as Debian's: the modules go through its /lib link.
    await sh(
      "mkdir -p nfs/rootfs/etc nfs/rootfs/bin nfs/rootfs/usr/lib && ln -s usr/lib nfs/rootfs/lib && " +
        "echo nfs > nfs/rootfs/etc/hostname && tar -C nfs -czf nfs.tar.gz .",
      dir,
    );
    const { ctx, run, said } = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs: { url: `file://${dir}/nfs.tar.gz`, compression: "gz", prefix: "rootfs/" } },
      dispatcher: ganesha.dispatcherConfig,
    });
    await run();
    const root = ctx.nfsRoot!;
    assert(/\/nfs-[^/]+\/nfsrootfs\/rootfs$/.test(root), root);
    // Its set-user-id programs out of reach of the worker's other users.
    assertEquals((await Deno.stat(`${root}/../..`)).mode! & 0o777, 0o700);
    assertEquals(await Deno.readTextFile(`${root}/etc/hostname`), "nfs\n");
    assertEquals(await Deno.readTextFile(`${root}/usr/lib/modules/6.1.0/m.ko`), "module\n");
    assert((await Deno.stat(`${root}/lava-42/bin/lava-test-runner`)).isFile);
    assert(ctx.overlayOnDevice);
    const exported = await Deno.readTextFile(ganesha.exportsFile);
    assert(exported.includes(`Path = "${root}";`), exported);
    // Exported only once the overlay and modules are in: the device never sees a root being written.
    const lines = said();
    const at = (text: string) => lines.findIndex((line) => line.includes(text));
    assert(at("exported by nfs-ganesha") > at("Applied the overlay to the NFS root"), lines.join("\n"));
    assert(at("exported by nfs-ganesha") > at("Added the kernel modules to the NFS root"), lines.join("\n"));
    // The ramdisk is rebuilt with the modules too (the kernel may need them to reach its root), without the
    // overlay: that is in the NFS root.
    const names = readInitramfs(
      new Uint8Array(gunzipSync((await Deno.readFile(ctx.downloads.get("ramdisk")!)).subarray(64))),
    )
      .map((f) => f.name);
    assert(!names.some((n) => n.startsWith("lava-42")), names.join(" "));
    assert(names.includes("lib/modules/6.1.0/m.ko"), names.join(" "));
    for (const cleanup of ctx.cleanups.splice(0)) await cleanup();
    assertEquals(await Deno.readTextFile(ganesha.exportsFile), "");
  } finally {
    await ganesha.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("where the kernel NFS server exports the job's directory, the root is built elsewhere and moved in complete", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await inputs(dir);
    await sh("mkdir -p nfs/rootfs/etc && echo nfs > nfs/rootfs/etc/hostname && tar -C nfs -czf nfs.tar.gz .", dir);
    await Deno.writeTextFile(`${dir}/etab`, `${dir}/work\t*(rw,no_root_squash)\n`);
    const kernel = { nfs_server: "kernel", nfs_exports_table: `${dir}/etab`, nfs_staging_dir: `${dir}/staging` };
    const nfsrootfs = { url: `file://${dir}/nfs.tar.gz`, compression: "gz", prefix: "rootfs/" };
    const { ctx, run, said } = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs },
      dispatcher: kernel,
    });
    await run();
    const root = ctx.nfsRoot!;
    assert(root.startsWith(`${dir}/work/nfs-42-`) && root.endsWith("/nfsrootfs/rootfs"), root);
    const lines = said();
    const at = (text: string) => lines.findIndex((line) => line.includes(text));
    assert(at(`Extracted nfsroot to ${dir}/staging/`) >= 0, lines.join("\n"));
    assert(at("Moved the complete NFS root") > at("Applied the overlay to the NFS root"), lines.join("\n"));
    assert(at("is exported by the kernel NFS server") > at("Moved the complete NFS root"), lines.join("\n"));
    assert((await Deno.stat(`${root}/lava-42/bin/lava-test-runner`)).isFile);
    assertEquals([...Deno.readDirSync(`${dir}/staging`)], []);
    for (const made of ["srv", "work"]) await Deno.remove(`${dir}/${made}`, { recursive: true });
    // A staging directory the export covers too is refused before anything is unpacked.
    await Deno.writeTextFile(`${dir}/etab`, `${dir}\t*(rw,no_root_squash)\n`);
    const covered = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs },
      dispatcher: kernel,
    });
    await assertRejects(covered.run, ConfigurationError, "is exported by NFS");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an nfsrootfs whose prefix leads out through a link or into a name with spaces, or with no NFS server, is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await inputs(dir);
    await sh("mkdir nfs && ln -s /etc nfs/rootfs && tar -C nfs -czf nfs.tar.gz .", dir);
    const nfsrootfs = { url: `file://${dir}/nfs.tar.gz`, compression: "gz", prefix: "rootfs/" };
    const escaping = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs },
      dispatcher: { nfs_server: "ganesha" },
    });
    await assertRejects(escaping.run, JobError, "leads outside its directory");
    for (const made of ["srv", "work"]) await Deno.remove(`${dir}/${made}`, { recursive: true });
    const noServer = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs: { ...nfsrootfs, prefix: undefined } },
      dispatcher: {
        nfs_server: "ganesha",
        nfs_ganesha_exports: `${dir}/ganesha/exports.conf`,
        nfs_ganesha_pid: `${dir}/ganesha/none.pid`,
      },
    });
    await assertRejects(noServer.run, InfrastructureError, "nfs-ganesha is not running");
    for (const made of ["srv", "work"]) await Deno.remove(`${dir}/${made}`, { recursive: true });
    // {NFSROOTFS} goes unquoted into the kernel's command line: a prefix that would split it is refused.
    await sh("mkdir -p 'nfs/root fs/etc' && tar -C nfs -czf spaced.tar.gz .", dir);
    const spaced = await deployJob(dir, { name: "rootfs.cpio.gz", options: { compression: "gz" } }, {
      files: { nfsrootfs: { url: `file://${dir}/spaced.tar.gz`, compression: "gz", prefix: "root fs/" } },
      dispatcher: { nfs_server: "ganesha" },
    });
    await assertRejects(spaced.run, JobError, "cannot go into a kernel command line");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
