/**
 * Deploy actions: download the job's images (in parallel, bounded by the number
 * of cores), build the test overlay, and put it where the device will find it —
 * appended to the initramfs (milliseconds) or as an ext2 drive for disk images.
 */
import { join } from "node:path";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { appendToInitramfs, cpioArchive, gzip } from "../../overlay/cpio.ts";
import { OverlayBuilder } from "../../overlay/build.ts";
import { testDefinitionRef } from "../../overlay/testdefs.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
import { download, formatBytes, inParallel } from "../../drivers/download.ts";
import { multinodeOverlayFile } from "../../drivers/multinode.ts";
import { InfrastructureError, JobError } from "../../job/errors.ts";
import { fileNameInside, hasControlCharacters } from "../../job/paths.ts";

const CORES = Math.max(1, navigator.hardwareConcurrency ?? 2);
const INITRD_KEYS = ["initrd", "ramdisk", "initramfs"];
/** Largest test overlay (helpers, test definitions and their repositories), which is archived in memory. */
const MAX_OVERLAY_BYTES = 256 * 2 ** 20;

/** Runs the deploy's children, the downloads all at once (bounded by cores). */
const deployWithParallelDownloads: ActionImplementation = async (run) => {
  const downloads = run.action.pipeline.filter((c) => c.name === "download-retry");
  for (const child of run.action.pipeline) {
    if (child.name === "download-retry") {
      if (child === downloads[0]) await inParallel(downloads.map((d) => () => run.child(d)), CORES);
      continue;
    }
    await run.child(child);
  }
};

/** The image (or kernel, dtb...) a download action is for. */
function resourceOf(block: Block, key: string): Record<string, unknown> {
  if (isMapping(block.images) && isMapping(block.images[key])) return block.images[key] as Record<string, unknown>;
  return isMapping(block[key]) ? block[key] as Record<string, unknown> : {};
}

/** The file name a download is saved under: the URL's last segment, decoded, without its compression suffix. */
function downloadName(url: string, key: string, what: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    throw new JobError(`${what}: ${url} is not a URL (or its last segment is not valid %-encoding)`);
  }
  if (segment.includes("/")) throw new JobError(`${what}: ${JSON.stringify(segment)} is not a plain file name`);
  // The name ends up in QEMU's -drive options and U-Boot's commands, where "," or ";" would be read as syntax.
  return (segment || key).replace(/\.(gz|xz|bz2|zst|zstd)$/, "").replace(/[^A-Za-z0-9._+-]/g, "_");
}

/** The job's HTTP headers for a download: names and values HTTP allows, or the job's error. */
function requestHeaders(raw: unknown, what: string): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) throw new JobError(`${what}: must be a mapping of header names to values`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const text = typeof value === "string" || typeof value === "number" ? String(value) : undefined;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || text === undefined || hasControlCharacters(text)) {
      throw new JobError(`${what}: ${JSON.stringify(name)} is not an HTTP header name with a one-line value`);
    }
    headers[name] = text;
  }
  return headers;
}

const fetchResource: ActionImplementation = async ({ ctx, action, block, signal }: ActionRun) => {
  const key = action.item!;
  const resource = resourceOf(block, key);
  const url = String(resource.url);
  const field = isMapping(block.images) && isMapping(block.images[key]) ? `images.${key}` : key;
  if (!/^[A-Za-z0-9._-]+$/.test(key)) {
    throw new JobError(`${action.name} images key: ${JSON.stringify(key)} must be letters, digits, '.', '_', '-'`);
  }
  const keyDir = fileNameInside(join(ctx.workDir, "downloads"), key, `${action.name} images key`);
  const target = fileNameInside(
    keyDir,
    downloadName(url, key, `${action.name} ${field}.url`),
    `${action.name} ${field}.url`,
  );
  const started = performance.now();
  const result = await download({
    url,
    target,
    what: `${action.name} ${field}.url`,
    fileDirs: ctx.fileDirs,
    maxBytes: ctx.maxDownloadBytes,
    compression: resource.compression as undefined,
    md5sum: resource.md5sum as string | undefined,
    sha256sum: resource.sha256sum as string | undefined,
    sha512sum: resource.sha512sum as string | undefined,
    headers: requestHeaders(resource.headers, `${action.name} ${field}.headers`),
    cacheDir: ctx.cacheDir,
    useCache: resource.use_cache === true,
    signal,
  });
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info(
    `${result.fromCache ? "Reused the cached" : "Downloaded"} ${key} from ${url}: ${result.bytes} bytes` +
      (result.fromCache ? "" : ` in ${seconds.toFixed(2)} s`) + ` (sha256 ${result.sha256})`,
  );
  ctx.downloads.set(key, result.path);
};

/** The test action blocks of the job, in order: stage n is the n-th. */
function testBlocks(run: ActionRun): Block[] {
  const actions = (Array.isArray(run.ctx.job.actions) ? run.ctx.job.actions : []) as Block[];
  return actions.filter((a) => isMapping(a.test)).map((a) => a.test as Block);
}

const lavaOverlay: ActionImplementation = async (run) => {
  const { ctx } = run;
  const overlay = new OverlayBuilder(ctx.workDir, ctx.deviceRoot, ctx.log);
  ctx.overlay = overlay;
  const environment: Record<string, string> = {
    LAVA_JOB_ID: ctx.jobId,
    LAVA_DEVICE_TYPE: String(ctx.device.devicetype ?? ""),
    LAVA_HARD_RESET_COMMAND: [ctx.command("hard_reset") ?? []].flat().join(" && "),
    LAVA_POWER_ON_COMMAND: [ctx.command("power_on") ?? []].flat().join(" && "),
    LAVA_POWER_OFF_COMMAND: [ctx.command("power_off") ?? []].flat().join(" && "),
  };
  const target = isMapping(ctx.device.parameters) && isMapping(ctx.device.parameters.interfaces) &&
      isMapping(ctx.device.parameters.interfaces.target)
    ? ctx.device.parameters.interfaces.target
    : {};
  if (typeof target.ip === "string" && target.ip) environment.LAVA_TARGET_IP = target.ip;
  for (
    const source of [
      ctx.device.environment,
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
  await overlay.start(environment, secrets);
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

/** Puts the overlay on the device: into the initramfs if the job has one, else on an ext2 drive. */
const applyOverlay: ActionImplementation = async ({ ctx }) => {
  if (!ctx.overlay) return;
  const initrd = INITRD_KEYS.map((k) => ctx.downloads.get(k)).find((p) => p !== undefined);
  if (initrd) {
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

export const DEPLOY_ACTIONS: Record<string, ActionImplementation> = {
  deployimages: deployWithParallelDownloads,
  "tftp-deploy": deployWithParallelDownloads,
  "nbd-deploy": deployWithParallelDownloads,
  "download-deploy": deployWithParallelDownloads,
  "overlay-deploy": deployWithParallelDownloads,
  "http-download": fetchResource,
  "file-download": fetchResource,
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
  "apply-overlay-guest": applyOverlay,
  "apply-overlay-tftp": applyOverlay,
};
