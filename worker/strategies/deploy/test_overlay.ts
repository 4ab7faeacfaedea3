/**
 * The test overlay every deploy builds: LAVA's helper scripts, the job's
 * environment and test definitions, archived — and put where the device will find
 * it: appended to the initramfs (milliseconds) or on an ext2 drive for disk images.
 */
import { join } from "../../../actors/path.ts";
import { type ActionShape, type OverlayDefinition, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { appendToInitramfs, cpioArchive, gzip } from "../../overlay/cpio.ts";
import { OverlayBuilder } from "../../overlay/build.ts";
import { testDefinitionRef } from "../../overlay/testdefs.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
import { formatBytes } from "../../drivers/download.ts";
import { multinodeOverlayFile } from "../../drivers/multinode.ts";
import { checkImageArg, splitArgs } from "../../drivers/qemu.ts";
import { InfrastructureError, JobError } from "../../job/errors.ts";

const INITRD_KEYS = ["initrd", "ramdisk", "initramfs"];
/** Largest test overlay (helpers, test definitions and their repositories), which is archived in memory. */
const MAX_OVERLAY_BYTES = 256 * 2 ** 20;

/** LAVA's `lava-overlay` tree for the test definitions the deploy carries. */
export function overlayShape(definitions: readonly OverlayDefinition[]): ActionShape {
  const repoAction = (d: OverlayDefinition) => {
    const more = { item: d.name, definition: { stage: d.stage, index: d.index } };
    return d.from === "git"
      ? shape("git-repo-action", "apply git repository of tests to the test image", "clone git test repo", more)
      : d.from === "inline"
      ? shape(
        "inline-repo-action",
        "apply inline test definition to the test image",
        "extract inline test definition",
        more,
      )
      : shape("url-repo-action", "apply a single test file to the test image", "download test file", more);
  };
  return shape(
    "lava-overlay",
    "add lava scripts during deployment for test shell use",
    "overlay the lava support scripts",
    {
      pipeline: [
        shape(
          "lava-multinode-overlay",
          "add lava scripts during deployment for multinode test shell use",
          "overlay the lava multinode scripts",
        ),
        shape("test-definition", "load test definitions into image", "loading test definitions", {
          pipeline: definitions.flatMap((d) => [
            repoAction(d),
            shape("test-overlay", "overlay test support files onto image", "applying LAVA test overlay", {
              item: d.name,
            }),
            shape(
              "test-install-overlay",
              "overlay dependency installation support files onto image",
              "applying LAVA test install scripts",
              { item: d.name },
            ),
            shape("test-runscript-overlay", "overlay run script onto image", "applying LAVA test run script", {
              item: d.name,
            }),
          ]),
        }),
        shape(
          "compress-overlay",
          "Create a lava overlay tarball and store alongside the job",
          "Compress the lava overlay files",
        ),
      ],
    },
  );
}

export const DEVICE_ENV_SHAPE: ActionShape = shape(
  "deploy-device-env",
  "deploy device environment",
  "deploy device environment",
);

/** The test action blocks of the job, in order: stage n is the n-th. */
function testBlocks(run: ActionRun): Block[] {
  const actions = (Array.isArray(run.ctx.job.actions) ? run.ctx.job.actions : []) as Block[];
  return actions.filter((a) => isMapping(a.test)).map((a) => a.test as Block);
}

const lavaOverlay: ActionImplementation = async (run) => {
  const { ctx } = run;
  const overlay = new OverlayBuilder(ctx.workDir, ctx.deviceRoot, ctx.log);
  ctx.overlay = overlay;
  const { resources } = ctx;
  const environment: Record<string, string> = {
    LAVA_JOB_ID: ctx.jobId,
    LAVA_DEVICE_TYPE: resources.deviceType,
    LAVA_HARD_RESET_COMMAND: resources.power.hardReset.join(" && "),
    LAVA_POWER_ON_COMMAND: resources.power.powerOn.join(" && "),
    LAVA_POWER_OFF_COMMAND: resources.power.powerOff.join(" && "),
  };
  if (resources.target.ip) environment.LAVA_TARGET_IP = resources.target.ip;
  if (resources.target.mac) environment.LAVA_TARGET_MAC = resources.target.mac;
  if (resources.storage.length > 0) {
    environment.LAVA_STORAGE = resources.storage.map((s) => `\t${s.method}\t${s.id}\n`).join("");
  }
  for (
    const source of [
      resources.environment,
      ctx.job.environment,
      isMapping(ctx.envDut.overrides) ? ctx.envDut.overrides : undefined,
    ]
  ) {
    if (isMapping(source)) { for (const [k, v] of Object.entries(source)) environment[k] = String(v); }
  }
  if (Array.isArray(ctx.job.tags)) environment.LAVA_JOB_TAGS = ctx.job.tags.join(",");
  const secrets = isMapping(ctx.job.secrets)
    ? Object.fromEntries(Object.entries(ctx.job.secrets).map(([k, v]) => [k, String(v)]))
    : {};
  await overlay.start(environment, secrets, ctx.deployOs());
  if (ctx.multinode) {
    await Deno.writeTextFile(join(overlay.dir, "multinode"), multinodeOverlayFile(ctx.multinode.info));
  }
  await run.children();
  await overlay.finish();
  // The overlay is archived in memory: a job's repositories must not make it unbounded.
  const size = await treeSize(overlay.root);
  if (size > MAX_OVERLAY_BYTES) {
    throw new JobError(
      `lava-overlay: the test overlay is ${size} bytes, more than ${formatBytes(MAX_OVERLAY_BYTES)}` +
        " (are the test repositories that large?)",
    );
  }
};

/** One test definition of the overlay: fetched and turned into run.sh (and install.sh). */
const fetchTestDefinition: ActionImplementation = async (run) => {
  const { ctx, action } = run;
  const { stage, index } = action.definition!;
  const definitions = testBlocks(run)[stage]?.definitions;
  const definition = Array.isArray(definitions) ? definitions[index] : undefined;
  if (!isMapping(definition) || !ctx.overlay) throw new JobError(`no test definition ${index} in test action ${stage}`);
  await ctx.overlay.addTest(stage, index, testDefinitionRef(definition), ctx.deployOs(), {
    action: action.name,
    fileDirs: ctx.fileDirs,
    signal: run.signal,
  });
};

const compressOverlay: ActionImplementation = async ({ ctx }) => {
  if (!ctx.overlay) return;
  ctx.overlayArchive = await gzip(await cpioArchive(ctx.overlay.root) as Uint8Array<ArrayBuffer>);
  ctx.log.debug(`overlay archive: ${ctx.overlayArchive.length} bytes`);
};

/**
 * The deploy's images QEMU attaches as disks (a root filesystem...): those without an `image_arg` (a raw drive) and
 * those whose `image_arg` is a drive, not a firmware (`-bios`) or a kernel's.
 */
function diskImages(block: Record<string, unknown>): string[] {
  const images = isMapping(block.images) ? Object.entries(block.images) : [];
  return images.filter(([key, image]) => {
    if (INITRD_KEYS.includes(key) || key === "kernel" || key === "dtb") return false;
    const arg = isMapping(image) ? image.image_arg : undefined;
    return typeof arg !== "string" || checkImageArg(splitArgs(arg), key, `deploy images.${key}.image_arg`);
  }).map(([key]) => key);
}

/**
 * Puts the overlay on the device: into the initramfs when that is the root filesystem, else on an ext2 drive.
 * An initramfs that goes on to a root filesystem on a disk (Debian's, with `root=`) leaves what was added to it
 * behind, so with a disk image deployed beside it the overlay has a drive of its own, as LAVA's guest drive.
 */
const applyOverlay: ActionImplementation = async ({ ctx, block }) => {
  if (!ctx.overlay) return;
  const initrd = INITRD_KEYS.map((k) => ctx.downloads.get(k)).find((p) => p !== undefined);
  if (initrd && diskImages(block).length === 0) {
    const started = performance.now();
    const bytes = await appendToInitramfs(initrd, ctx.overlay.root);
    ctx.overlayOnDevice = true;
    ctx.log.info(
      `Appended the overlay (${bytes} bytes) to ${initrd} in ${(performance.now() - started).toFixed(0)} ms`,
    );
    return;
  }
  const image = join(ctx.workDir, "overlay.ext2");
  const size = Math.max(8, Math.ceil(await treeSize(ctx.overlay.root) / (1 << 20)) * 2 + 8);
  const made = await new Deno.Command("mke2fs", {
    args: ["-q", "-F", "-t", "ext2", "-L", "lavaoverlay", "-d", ctx.overlay.root, image, `${size}M`],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error) => {
    throw new InfrastructureError(`mke2fs is needed to build the overlay drive: ${error.message}`);
  });
  if (!made.success) throw new InfrastructureError(`mke2fs failed: ${new TextDecoder().decode(made.stderr)}`);
  ctx.overlayImage = image;
  ctx.log.info(`Built the overlay drive ${image} (${size} MiB)`);
};

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await treeSize(path);
    else total += (await Deno.lstat(path)).size;
  }
  return total;
}

const nothingMore: ActionImplementation = () => Promise.resolve();

/** The implementations of the overlay's actions, for a deploy strategy's table. */
export const OVERLAY_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "lava-overlay": lavaOverlay,
  "git-repo-action": fetchTestDefinition,
  "inline-repo-action": fetchTestDefinition,
  "url-repo-action": fetchTestDefinition,
  "test-overlay": nothingMore,
  "test-install-overlay": nothingMore,
  "test-runscript-overlay": nothingMore,
  "lava-multinode-overlay": nothingMore,
  "compress-overlay": compressOverlay,
  "deploy-device-env": nothingMore,
};

/** Puts the overlay on the device, as `apply-overlay-guest` or `apply-overlay-tftp`. */
export { applyOverlay };
