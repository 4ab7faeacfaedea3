/**
 * LAVA's `qemu` and `qemu-nfs` boots: start QEMU with the device's parameters and
 * the job's images; its process is the device's console and power. `qemu-nfs`
 * gives the kernel its root over NFS: the job's exported nfsrootfs.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { Console } from "../../drivers/console.ts";
import { checkSelfContainedImage } from "../../drivers/disk_images.ts";
import { qemuCommand, type QemuImage, QemuProcess } from "../../drivers/qemu.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { fillPlaceholders } from "../../drivers/bootloader.ts";
import { serverIp } from "./substitutions.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { SESSION_ACTIONS, shellSessionShape, watchKernel } from "./session.ts";

/** The downloaded images of the last deploy with images before this boot, with their `image_arg`. */
function deployedImages(ctx: JobContext, boot: Block): QemuImage[] {
  const entries = (Array.isArray(ctx.job.actions) ? ctx.job.actions : []).filter(isMapping);
  const at = entries.findIndex((entry) => entry.boot === boot);
  const deploy = entries.slice(0, at < 0 ? entries.length : at).map((entry) => entry.deploy)
    .findLast((d) => isMapping(d) && isMapping(d.images));
  const images = isMapping(deploy) && isMapping(deploy.images) ? deploy.images : {};
  return Object.entries(images).flatMap(([key, image]) => {
    const path = ctx.downloads.get(key);
    // The NFS root is served, not attached.
    if (!path || !isMapping(image) || key === "nfsrootfs") return [];
    return [{ key, path, ...(typeof image.image_arg === "string" ? { imageArg: image.image_arg } : {}) }];
  });
}

/** The kernel command line of a `qemu-nfs` boot, as LAVA builds it from the device's `append` parameters. */
function nfsKernelArgs(ctx: JobContext): string {
  const append = ctx.resources.qemu?.nfsAppend;
  if (!append) {
    throw new ConfigurationError(
      "the device has no actions.boot.methods.qemu-nfs.parameters.append: it cannot boot qemu-nfs",
    );
  }
  if (ctx.nfsRoot === undefined) throw new JobError("qemu-nfs needs an nfsrootfs deployed by an nfs deploy before it");
  const nfsroot = fillPlaceholders([append.nfsrootargs], {
    NFSROOTFS: ctx.nfsRoot,
    NFS_SERVER_IP: serverIp(ctx, "nfs"),
  })[0];
  return [`console=${append.console}`, "root=/dev/nfs", `${nfsroot} rw`, append.ipargs].join(" ");
}

const executeQemu: ActionImplementation = async ({ ctx, block }) => {
  const qemu = ctx.resources.qemu;
  if (!qemu) {
    throw new ConfigurationError(
      "the device has no actions.boot.methods.qemu.parameters.command: it cannot boot with qemu",
    );
  }
  const { argv, disks } = qemuCommand(qemu, deployedImages(ctx, block), ctx.overlayImage);
  if (block.method === "qemu-nfs") argv.push("-append", nfsKernelArgs(ctx));
  for (const disk of disks) await checkSelfContainedImage(disk.path, disk.what);
  ctx.log.info(`Boot command: ${argv.join(" ")}`);
  // A boot retried, or a second boot in the job, replaces the QEMU already running.
  if (ctx.power instanceof QemuProcess) await ctx.power.off();
  const started = await QemuProcess.start(argv, (line) => ctx.log.info(`qemu: ${line}`));
  const process = started.process!;
  ctx.power = started;
  ctx.poweredOff = false;
  ctx.console = new Console(process, ctx.log);
  ctx.kernelPanic = undefined;
  watchKernel(ctx, ctx.console);
  process.status.then((status) => {
    if (started.process === process) {
      ctx.log.debug(`qemu exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
    }
  });
};

export const qemuBoot: Strategy = {
  section: "boot",
  methods: ["qemu", "qemu-nfs"],
  shape: (block, { testHasShell }) =>
    shape("boot-image-retry", "boot image with retry", "boot with retry", {
      retry: true,
      pipeline: [
        shape("boot-qemu-image", "boot image using QEMU command line", "boot QEMU image", {
          retry: true,
          pipeline: [shape("execute-qemu", "call qemu to boot the image", "execute qemu to boot the image")],
        }),
        ...shellSessionShape(block, testHasShell),
      ],
    }),
  actions: () => ({ "execute-qemu": executeQemu, ...SESSION_ACTIONS }),
};
