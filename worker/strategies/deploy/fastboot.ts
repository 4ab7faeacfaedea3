/**
 * LAVA's `fastboot` deploy: the test overlay built, the board put in fastboot
 * mode (power-cycled when it has a hard reset command, else asked with
 * `fastboot reboot-bootloader`), the job's images downloaded — the overlay
 * written into those marked `apply-overlay` — and flashed by partition with
 * Debian's `fastboot` client in the device's `flash_cmds_order` (the job's other
 * images after, by name), each flash preceded by a wait for the device and
 * followed by the reboot the image asks for.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { check, runFastboot } from "../../drivers/fastboot.ts";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { imageHeader } from "../../drivers/disk_images.ts";
import { writeTreeIntoExt4 } from "../../drivers/ext4_overlay.ts";
import { fastbootResource, partitionName } from "../../resources/fastboot.ts";
import type { DeviceResources } from "../../resources/device.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../../job/errors.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "../boot/connection.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShape } from "./downloads.ts";
import { DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";

const images = (block: Block): Record<string, unknown> => isMapping(block.images) ? block.images : {};

/** The partitions in flashing order: the device's order first, then the job's others by name. */
export function flashOrder(block: Block, device: DeviceResources): string[] {
  const keys = Object.keys(images(block));
  const order = device.fastboot.flashOrder.filter((p) => keys.includes(p));
  return [...order, ...keys.filter((k) => !order.includes(k)).sort()];
}

const READ_FEEDBACK = shape(
  "read-feedback",
  "Check for messages on all other namespaces",
  "Read from other namespaces",
);
export const WAIT_DEVICE_SHAPE = shape(
  "wait-device-boardid",
  "wait for udev device with board ID",
  "wait for udev device with board ID",
);
export const ENTER_FASTBOOT_SHAPE = shape("enter-fastboot-action", "enter fastboot bootloader", "enter fastboot");
export const UBOOT_ENTER_FASTBOOT_SHAPE = shape(
  "uboot-enter-fastboot",
  "interactive uboot enter fastboot action",
  "uboot commands to enter fastboot mode",
);

/** What puts the board in fastboot mode, as LAVA chooses it. */
export function enterFastbootShapes(device: DeviceResources, deploy: boolean): ActionShape[] {
  if (device.fastboot.viaUboot) return [CONNECT_SHAPE, UBOOT_ENTER_FASTBOOT_SHAPE];
  if (device.power.hardReset.length > 0) {
    // As LAVA's fastboot deploy, the device's pre-power command always (on fastboot boards it usually switches the
    // USB OTG port so the worker sees the board), whatever the job says; without one it only warns.
    return [
      CONNECT_SHAPE,
      ...(deploy ? [shape("pre-power-command", "issue pre power command", "send pre-power-command")] : []),
      resetShape(device),
    ];
  }
  return deploy ? [ENTER_FASTBOOT_SHAPE] : [WAIT_DEVICE_SHAPE, ENTER_FASTBOOT_SHAPE];
}

const REBOOTS: Readonly<Record<string, ActionShape>> = {
  "fastboot-reboot": shape(
    "fastboot-reboot",
    "Reset a device between flash operations using fastboot reboot.",
    "execute a reboot using fastboot",
  ),
  "fastboot-reboot-bootloader": shape(
    "fastboot-reboot-bootloader",
    "Reset a device between flash operations using fastboot reboot-bootloader.",
    "execute a reboot to bootloader using fastboot",
  ),
  "fastboot-reboot-fastboot": shape(
    "fastboot-reboot-fastboot",
    "Reset a device between flash operations using fastboot reboot fastboot.",
    "execute a reboot to fastbootd using fastboot",
  ),
  "hard-reset": shape("pdu-reboot", "issue commands to a PDU to power cycle a device", "hard reboot using PDU"),
};

function flashOrderShape(block: Block, device: DeviceResources): ActionShape {
  const pipeline: ActionShape[] = [READ_FEEDBACK];
  for (const partition of flashOrder(block, device)) {
    pipeline.push(
      WAIT_DEVICE_SHAPE,
      shape("fastboot-flash-action", "Run a specified flash command", "Execute fastboot flash command", {
        item: partition,
      }),
    );
    const image = images(block)[partition];
    const reboot = isMapping(image) ? REBOOTS[String(image.reboot)] : undefined;
    if (reboot) pipeline.push(reboot, READ_FEEDBACK);
  }
  return shape(
    "fastboot-flash-order-action",
    "Determine support for each flash operation",
    "Handle reset and options for each flash url.",
    { pipeline },
  );
}

export const fastbootDeploy: Strategy = {
  section: "deploy",
  methods: ["fastboot"],
  shape: (block, { definitions }, device) => {
    const pipeline: ActionShape[] = [overlayShape(definitions), ...enterFastbootShapes(device, true)];
    for (const key of Object.keys(images(block)).sort()) {
      const image = images(block)[key];
      pipeline.push(downloadShape(key, image));
      if (isMapping(image) && image["apply-overlay"] === true) {
        pipeline.push(
          image.sparse === false
            ? shape("apply-overlay-image", "apply overlay to test image", "apply overlay to test image", { item: key })
            : shape(
              "apply-overlay-sparse-image",
              "apply overlay to sparse image",
              "apply overlay to sparse image",
              { item: key },
            ),
        );
      }
      pipeline.push(DEVICE_ENV_SHAPE);
    }
    pipeline.push(flashOrderShape(block, device));
    return shape("fastboot-deploy", "download files and deploy using fastboot", "fastboot deployment", { pipeline });
  },
  actions: () => ({
    ...OVERLAY_ACTIONS,
    ...DOWNLOAD_ACTIONS,
    ...CONNECTION_ACTIONS,
    ...FASTBOOT_ACTIONS,
    "fastboot-deploy": async (run) => {
      // The device must be a fastboot device with a serial, and the job's partitions names fastboot takes.
      fastbootResource(run.ctx.device);
      for (const key of Object.keys(images(run.block))) partitionName(key, `deploy images.${key}`);
      await deployWithParallelDownloads(run);
    },
    "apply-overlay-sparse-image": (run) => applyOverlayToImage(run, true),
    "apply-overlay-image": (run) => applyOverlayToImage(run, false),
    "fastboot-flash-order-action": (run) => run.children(),
    "fastboot-flash-action": flash,
    "fastboot-reboot": async (run) => void await fastbootStep(run, ["reboot"], "fastboot-reboot"),
    "fastboot-reboot-bootloader": async (run) =>
      void await fastbootStep(run, ["reboot-bootloader"], "fastboot-reboot-bootloader"),
    "fastboot-reboot-fastboot": async (run) =>
      void await fastbootStep(run, ["reboot", "fastboot"], "fastboot-reboot-fastboot"),
  }),
};

/** Runs one fastboot command on the device, its failure judged by what the client said. */
async function fastbootStep(run: ActionRun, command: string[], what: string): Promise<string> {
  const target = fastbootResource(run.ctx.device);
  const result = await runFastboot(target, command, run.ctx.log, run.signal);
  check(result, what);
  return result.output;
}

/**
 * Writes the overlay into a downloaded filesystem image: a sparse one (the default) expanded with simg2img and
 * packed again with img2simg, as LAVA does; a plain one in place. An image whose root is in a partition of a disk
 * image (`root_partition`) is not supported yet.
 */
async function applyOverlayToImage(run: ActionRun, sparse: boolean): Promise<void> {
  const { ctx, action, block } = run;
  const key = action.item!;
  const field = `deploy images.${key}`;
  const path = ctx.downloads.get(key);
  if (!path) throw new JobError(`${action.name}: images.${key} was not downloaded`);
  if (!ctx.overlay) throw new JobError(`${action.name}: no overlay was built`);
  const image = images(block)[key];
  if (isMapping(image) && image.root_partition !== undefined) {
    throw new JobError(`${field}.root_partition: applying the overlay inside a partitioned image is not supported yet`);
  }
  // simg2img reads the job's image (its failure is the job's); img2simg packs a file Basalt made (its failure is the lab's).
  const tool = async (name: string, args: string[], failure: typeof JobError | typeof InfrastructureError) => {
    const out = await new Deno.Command(name, { args, stdout: "null", stderr: "piped", signal: run.signal }).output()
      .catch((error) => {
        throw new InfrastructureError(`${name} (android-sdk-libsparse-utils) could not run: ${error}`);
      });
    if (!out.success) {
      throw new failure(`${field}: ${name} failed: ${new TextDecoder().decode(out.stderr).trim().slice(0, 300)}`);
    }
  };
  const started = performance.now();
  if (sparse) {
    // A few bytes of sparse image can claim terabytes of filled blocks: expanded only within the download bound.
    const expanded = await sparseImageSize(path, field);
    const limit = ctx.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    if (expanded > limit) {
      throw new JobError(`${field}: the sparse image expands to ${expanded} bytes, more than the ${limit} allowed`);
    }
    const raw = `${path}.raw`;
    try {
      await tool("simg2img", [path, raw], JobError);
      await writeTreeIntoExt4(raw, ctx.overlay.root, `images.${key}`, run.signal);
      await tool("img2simg", [raw, path], InfrastructureError);
    } finally {
      // Up to the download bound on disk: never left behind, whatever failed.
      await Deno.remove(raw).catch(() => {});
    }
  } else {
    await writeTreeIntoExt4(path, ctx.overlay.root, `images.${key}`, run.signal);
  }
  ctx.overlayOnDevice = true;
  ctx.log.info(`Applied the overlay to images.${key} in ${(performance.now() - started).toFixed(0)} ms`);
}

/** The size an Android sparse image expands to, from its header; the job's error when it is not one. */
async function sparseImageSize(path: string, field: string): Promise<number> {
  const header = await imageHeader(path, 28);
  const length = header.length;
  const view = new DataView(header.buffer);
  if (length < 28 || view.getUint32(0, true) !== 0xed26ff3a) {
    throw new JobError(`${field}: not an Android sparse image (give "sparse: false" for a plain filesystem image)`);
  }
  return view.getUint32(12, true) * view.getUint32(16, true);
}

/** `fastboot flash PARTITION IMAGE`, unless the boot sequence boots the `boot` image without flashing it. */
const flash: ActionImplementation = async (run) => {
  const { ctx, action } = run;
  const partition = partitionName(action.item!, `deploy images.${action.item}`);
  const file = ctx.downloads.get(partition);
  if (!file) throw new JobError(`fastboot-flash-action: images.${partition} was not downloaded`);
  const target = fastbootResource(ctx.device);
  if (partition === "boot" && target.sequence.includes("no-flash-boot")) {
    ctx.log.info("The device's boot sequence boots the boot image without flashing it (no-flash-boot)");
    return;
  }
  ctx.log.debug(`${(await Deno.stat(file)).size} bytes`);
  const started = performance.now();
  await fastbootStep(run, ["flash", partition, file], `fastboot flash ${partition}`);
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info(`Handling ${partition}: flashed in ${seconds.toFixed(2)} s`);
};

/**
 * Waits for the device as fastboot reaches it: `fastboot getvar serialno` returns once the device answers (the
 * client itself waits for a device that is not there yet), bounded by the action's timeout — an infrastructure
 * error, as LAVA's udev wait.
 */
const waitDevice: ActionImplementation = async (run) => {
  const target = fastbootResource(run.ctx.device);
  if (!target.waitForDevice) {
    run.ctx.log.debug(`Avoid waiting for the device with ID: ${target.serial}`);
    return;
  }
  run.ctx.log.debug(`Waiting for the fastboot device with ID: ${target.serial}`);
  const result = await runFastboot(target, ["getvar", "serialno"], run.ctx.log, run.signal);
  if (result.code !== 0) {
    throw new InfrastructureError(`wait-device-boardid: the device ${target.serial} did not answer fastboot`);
  }
};

/** LAVA's enter-fastboot-action without adb: a device already in fastboot is rebooted into its bootloader. */
const enterFastboot: ActionImplementation = async (run) => {
  const output = await fastbootStep(run, ["reboot-bootloader"], "enter-fastboot-action").catch((error) => {
    throw new InfrastructureError(`Unable to enter fastboot: ${(error as Error).message}`);
  });
  if (!/okay/i.test(output)) throw new InfrastructureError(`Unable to enter fastboot: ${output.slice(-200)}`);
};

/** The actions deploy and boot share. */
export const FASTBOOT_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "read-feedback": () => Promise.resolve(),
  "wait-device-boardid": waitDevice,
  "enter-fastboot-action": enterFastboot,
  "uboot-enter-fastboot": () => {
    throw new ConfigurationError("fastboot_via_uboot: entering fastboot mode from U-Boot is not supported yet");
  },
};

export { fastbootStep };
