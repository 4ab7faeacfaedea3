/**
 * LAVA's `tftp` deploy: the kernel, ramdisk, device tree and modules downloaded
 * into the job's directory under the worker's TFTP root, and the ramdisk prepared
 * as LAVA's `prepare-tftp-overlay` prepares it (header off, the test overlay and
 * the modules in, given its header again) for a bootloader to fetch.
 * The job's directory goes when the job ends, whatever happened.
 */
import { join } from "../../../actors/path.ts";
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import type { Strategy } from "../strategy.ts";
import { type DeviceResources, Reader } from "../../resources/device.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";
import { DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";
import {
  checkServable,
  DEFAULT_TFTP_ROOT,
  makeDeployDir,
  removeJobTftpDir,
  servedName,
  tftpRoot,
  tftpSizeLimit,
} from "../../drivers/tftp_dir.ts";
import { addUbootHeader, ramdiskBody } from "../../drivers/ramdisk.ts";
import { appendToInitramfs } from "../../overlay/cpio.ts";
import { unpackTar } from "../../drivers/archive.ts";
import {
  addModulesToNfsRoot,
  applyOverlayToNfsRoot,
  deviceAddresses,
  exportPreparedNfsRoot,
  extractNfsRoot,
} from "./nfs_root.ts";
import { type Compression, DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { makeFitImage } from "../../drivers/fit_image.ts";

/** The files LAVA's tftp deploy downloads, in its order. */
const BOOT_FILES = ["ramdisk", "kernel", "dtb", "nfsrootfs", "modules", "preseed", "tee"];

const step = (name: string, description: string, summary: string) => shape(name, description, summary);

/** LAVA's prepare-kernel: U-Boot's conversion step on U-Boot devices, depthcharge's FIT image on Chromebooks. */
function kernelPreparation(device: DeviceResources): ActionShape {
  return shape("prepare-kernel", "populates the pipeline with a kernel conversion action", "add a kernel conversion", {
    pipeline: device.bootMethods.includes("u-boot")
      ? [step("uboot-prepare-kernel", "convert kernel to uimage", "prepare/convert kernel")]
      : device.bootMethods.includes("depthcharge")
      ? [step("prepare-fit", "package kernel, dtb and ramdisk into an FIT image", "generate depthcharge FIT image")]
      : [],
  });
}

/** LAVA's prepare-kernel for a kernel given a `type`. */
export function prepareKernelShape(block: Block, device: DeviceResources): ActionShape[] {
  if (!isMapping(block.kernel) || block.kernel.type === undefined) return [];
  return [kernelPreparation(device)];
}

/** LAVA's prepare-tftp-overlay: each step does nothing when the deploy lacks what it works on. */
function prepareShape(
  block: Block,
  definitions: Parameters<typeof overlayShape>[0],
  device: DeviceResources,
): ActionShape {
  return shape(
    "prepare-tftp-overlay",
    "extract ramdisk or nfsrootfs in preparation for lava overlay",
    "extract ramdisk or nfsrootfs",
    {
      pipeline: [
        step("extract-nfsrootfs", "unpack nfsrootfs", "unpack nfsrootfs, ready to apply lava overlay"),
        overlayShape(definitions),
        step("extract-overlay-ramdisk", "extract ramdisk to a temporary directory", "extract the ramdisk"),
        step("extract-modules", "extract supplied kernel modules", "extract kernel modules"),
        step("apply-overlay-tftp", "unpack the overlay into the nfsrootfs or ramdisk", "apply lava overlay test files"),
        ...prepareKernelShape(block, device),
        step(
          "configure-preseed-file",
          "add commands to automated installers, to copy the lava test overlay to the installed system",
          "add commands to installer config",
        ),
        step("compress-ramdisk", "recreate a ramdisk with the overlay applied.", "compress ramdisk with overlay"),
        // As LAVA: a depthcharge device's kernel is packed (with the final ramdisk) after everything else.
        ...(device.bootMethods.includes("depthcharge") ? [kernelPreparation(device)] : []),
      ],
    },
  );
}

/**
 * Runs a network deploy's downloads (its children) into a directory of its own
 * under the worker's TFTP root, removed when the job ends whatever happened, and
 * checks the files a bootloader fetches (`served`) against the TFTP size limit.
 */
export async function downloadIntoTftpDir(run: ActionRun, method: string, served: readonly string[]): Promise<void> {
  const { ctx, block } = run;
  const root = tftpRoot(ctx.dispatcher);
  const rootDir = root ?? join(ctx.workDir, "tftp");
  ctx.tftpDir = await makeDeployDir(rootDir, ctx.jobId, method);
  ctx.cleanups.push(() => removeJobTftpDir(rootDir, ctx.jobId));
  ctx.log.info(
    root
      ? `TFTP directory for this deploy: ${ctx.tftpDir}`
      : `No TFTP root (dispatcher configuration tftp_root, or ${DEFAULT_TFTP_ROOT}): the files stay in ${ctx.tftpDir}, named by absolute paths`,
  );
  try {
    await deployWithParallelDownloads(run);
  } finally {
    ctx.tftpDir = undefined;
  }
  const limit = tftpSizeLimit(ctx.dispatcher);
  ctx.log.debug(`Checking files for TFTP limit of ${limit} bytes.`);
  for (const key of served) {
    const path = ctx.downloads.get(key);
    if (path && block[key] !== undefined) await checkServable(path, limit);
  }
}

/** LAVA's uboot-prepare-kernel: Basalt converts no kernel, so the device must boot the job's kernel type as it is. */
export const ubootPrepareKernel: ActionImplementation = ({ ctx, block }) => {
  const type = option(block, "kernel", "type");
  const commands = { image: "booti", zimage: "bootz", uimage: "bootm" } as Record<string, string>;
  const command = typeof type === "string" ? commands[type] : undefined;
  if (!command) throw new JobError(`kernel.type: ${JSON.stringify(type)} is not image, zimage or uimage`);
  if (!ctx.resources.loadAddresses[command]) {
    throw new JobError(
      `kernel.type ${type}: the device has no ${command} load addresses and Basalt does not convert kernels`,
    );
  }
  ctx.log.info(`Boot command for a ${type} kernel: ${command}`);
  return Promise.resolve();
};

/** What the steps of one tftp deploy hand each other. */
interface Prepared {
  /** The ramdisk without its U-Boot header, while archives are appended to it. */
  body?: string;
}

const option = (block: Block, key: string, name: string): unknown =>
  isMapping(block[key]) ? (block[key] as Block)[name] : undefined;

/** Whether the job wants `what` (install_overlay, install_modules) put into the ramdisk: LAVA's default is yes. */
const wants = (block: Block, name: "install_overlay" | "install_modules") => option(block, "ramdisk", name) !== false;

function tftpActions(): Record<string, ActionImplementation> {
  const prepared: Prepared = {};
  return {
    ...DOWNLOAD_ACTIONS,
    ...OVERLAY_ACTIONS,
    "tftp-deploy": async (run) => {
      const { block } = run;
      if (!isMapping(block.kernel)) throw new JobError("tftp-deploy needs a kernel to deploy");
      if (block.persistent_nfs !== undefined) {
        throw new JobError("tftp-deploy persistent_nfs: Basalt's dispatcher does not mount a persistent NFS root yet");
      }
      await downloadIntoTftpDir(run, "tftp", ["ramdisk", "kernel", "dtb", "tee"]);
    },
    "extract-nfsrootfs": ({ ctx, block }) => extractNfsRoot(ctx, block.nfsrootfs, "tftp-deploy"),
    "extract-overlay-ramdisk": async ({ ctx, block }) => {
      const ramdisk = ctx.downloads.get("ramdisk");
      if (!ramdisk || !isMapping(block.ramdisk)) return;
      if (!wants(block, "install_overlay") && !wants(block, "install_modules")) {
        ctx.log.info("Not extracting ramdisk.");
        return;
      }
      prepared.body = join(ctx.workDir, "ramdisk-body");
      await ramdiskBody(
        ramdisk,
        prepared.body,
        { compression: block.ramdisk.compression as Compression | undefined, header: block.ramdisk.header as string },
        "extract-overlay-ramdisk ramdisk",
      );
      ctx.log.info(`Took the ramdisk ${block.ramdisk.header === "u-boot" ? "out of its U-Boot header" : "as it came"}`);
    },
    "extract-modules": async ({ ctx, block }) => {
      const modules = ctx.downloads.get("modules");
      if (modules && !isMapping(block.ramdisk) && !isMapping(block.nfsrootfs)) {
        throw new JobError("tftp-deploy modules: the deploy has neither a ramdisk nor an nfsrootfs to put them in");
      }
      // As LAVA: into the NFS root and the ramdisk both (the kernel may need some to reach its NFS root).
      const intoNfs = ctx.nfsRoot !== undefined;
      const intoRamdisk = prepared.body !== undefined && wants(block, "install_modules");
      if (!modules || !(intoNfs || intoRamdisk)) return;
      const tree = join(ctx.workDir, "modules");
      await unpackTar(modules, tree, ctx.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES, "extract-modules modules");
      if (intoNfs) {
        await addModulesToNfsRoot(ctx, isMapping(block.nfsrootfs) ? block.nfsrootfs : {}, tree, "tftp-deploy");
      }
      if (intoRamdisk) {
        const bytes = await appendToInitramfs(prepared.body!, tree);
        ctx.log.info(`Added the kernel modules to the ramdisk (${bytes} bytes)`);
      }
      await Deno.remove(tree, { recursive: true });
    },
    "apply-overlay-tftp": async ({ ctx, block }) => {
      if (!ctx.overlay) return;
      // As LAVA: the overlay goes into the NFS root when there is one (unless install_overlay is false), not the ramdisk.
      if (ctx.nfsRoot !== undefined) {
        await applyOverlayToNfsRoot(ctx, isMapping(block.nfsrootfs) ? block.nfsrootfs : {});
        return;
      }
      if (!prepared.body || !wants(block, "install_overlay")) {
        ctx.log.info("The ramdisk does not take the overlay: it is not on the device");
        return;
      }
      const bytes = await appendToInitramfs(prepared.body, ctx.overlay.root);
      ctx.overlayOnDevice = true;
      ctx.log.info(`Applied the overlay to the ramdisk (${bytes} bytes)`);
    },
    "uboot-prepare-kernel": ubootPrepareKernel,
    "prepare-fit": async ({ ctx, signal }) => {
      const device = new Reader(ctx.device);
      const arch = device.text(["actions", "deploy", "parameters", "mkimage_arch"]);
      if (!arch) {
        ctx.log.info("No mkimage arch provided, not using FIT.");
        return;
      }
      const loadAddress = device.text(["parameters", "load_address"]);
      const kernel = ctx.downloads.get("kernel");
      if (!kernel) throw new JobError("prepare-fit: no kernel was downloaded");
      if (loadAddress === undefined) {
        throw new ConfigurationError("Missing load_address from device parameters (fit_kernel_load_address)");
      }
      const fit = await makeFitImage({
        kernel,
        arch,
        loadAddress,
        signal,
        ...(ctx.downloads.get("dtb") ? { dtb: ctx.downloads.get("dtb") } : {}),
        ...(ctx.downloads.get("ramdisk") ? { ramdisk: ctx.downloads.get("ramdisk") } : {}),
      });
      ctx.downloads.set("fit", fit);
      ctx.log.info(`Packed the kernel${ctx.downloads.get("ramdisk") ? " and ramdisk" : ""} into ${fit}`);
    },
    "configure-preseed-file": ({ block }) => {
      if (block.preseed !== undefined) throw new JobError("tftp-deploy preseed: installers are not supported yet");
      return Promise.resolve();
    },
    "compress-ramdisk": async ({ ctx, block }) => {
      // The last step of the preparation: the NFS root has all it will get, so the device may now see it.
      await exportPreparedNfsRoot(ctx, deviceAddresses(ctx.device));
      const ramdisk = ctx.downloads.get("ramdisk");
      if (!ramdisk || !prepared.body || !isMapping(block.ramdisk)) return;
      // Compressed as it came: the additions were appended compressed.
      const compression = block.ramdisk.compression as Compression | undefined;
      let final = join(ctx.workDir, `ramdisk.cpio${compression ? `.${compression}` : ""}`);
      await Deno.rename(prepared.body, final);
      const header = ctx.resources.ramdiskHeader;
      if (header) {
        await addUbootHeader(final, `${final}.uboot`, header.mkimageArch);
        final = `${final}.uboot`;
      }
      // Beside the downloaded ramdisk, in the job's TFTP directory: that is what the bootloader fetches.
      const target = join(ramdisk, "..", final.split("/").pop()!);
      await Deno.rename(final, target);
      ctx.downloads.set("ramdisk", target);
      ctx.log.info(`Built the ramdisk ${servedName(tftpRoot(ctx.dispatcher), target)}`);
    },
    "lxc-create-udev-rule-action": () => Promise.resolve(),
  };
}

export const tftpDeploy: Strategy = {
  section: "deploy",
  methods: ["tftp"],
  shape: (block, { definitions }, device) =>
    shape("tftp-deploy", "download files and deploy using tftp", "tftp deployment", {
      pipeline: [
        ...downloadShapes(block, BOOT_FILES),
        prepareShape(block, definitions, device),
        step("lxc-create-udev-rule-action", "create lxc udev rule action", "create lxc udev rule"),
        DEVICE_ENV_SHAPE,
      ],
    }),
  actions: tftpActions,
};
