/**
 * An NFS root for a device (LAVA's `nfsrootfs`, deployed by `tftp` for boards or
 * `nfs` for QEMU): the downloaded archive unpacked as the device sees it, the
 * overlay and modules put into it, and only then the directory the job's `prefix`
 * names exported to the device for the job only — nothing can reach the tree while
 * the dispatcher writes into it. `{NFSROOTFS}` is that directory.
 */
import { join } from "node:path";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { unpackRootfs } from "../../drivers/archive.ts";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { exportNfsRoot } from "../../drivers/nfs_export.ts";
import { mergeTree } from "../../drivers/tree_merge.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { realPathInside } from "../../job/paths.ts";
import type { Block, JobContext } from "../context.ts";

/** What `{NFSROOTFS}` may hold: it goes unquoted into the device's kernel command line. */
const COMMAND_LINE_SAFE = /^[A-Za-z0-9._/+-]+$/;

/** The device's own address from its dictionary (`device_ip`, rendered as LAVA's `interfaces.target.ip`). */
export function deviceAddresses(device: Block): string[] {
  const parameters = isMapping(device.parameters) ? device.parameters : {};
  const interfaces = isMapping(parameters.interfaces) ? parameters.interfaces : {};
  const target = isMapping(interfaces.target) ? interfaces.target : {};
  return typeof target.ip === "string" && target.ip.trim() !== "" ? [target.ip.trim()] : [];
}

/**
 * Unpacks the job's nfsrootfs (`spec`, its deploy's `nfsrootfs` block) for the
 * steps after it to fill; nothing without one. A deploy starts afresh: an NFS root
 * of an earlier deploy in the job is not this one's.
 */
export async function extractNfsRoot(ctx: JobContext, spec: unknown, what: string): Promise<void> {
  ctx.nfsRoot = undefined;
  const archive = ctx.downloads.get("nfsrootfs");
  if (!archive || !isMapping(spec)) return;
  if (Deno.uid() !== 0) {
    throw new ConfigurationError(
      `${what} nfsrootfs: this worker runs as uid ${Deno.uid()}, and an NFS root keeps its files' owners: ` +
        `only a worker running as root can unpack one (LAVA's worker runs as root too)`,
    );
  }
  // The root keeps its set-user-id programs: a directory only root may enter (a temporary one is 0700) keeps the
  // worker's other users from running them (the NFS servers run as root).
  const fence = await Deno.makeTempDir({ dir: ctx.workDir, prefix: "nfs-" });
  const unpacked = join(fence, "nfsrootfs");
  await unpackRootfs(archive, unpacked, ctx.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES, `${what} nfsrootfs`);
  const prefix = spec.prefix;
  const root = typeof prefix === "string" && prefix !== ""
    ? await realPathInside(unpacked, prefix, `${what} nfsrootfs.prefix`)
    : unpacked;
  if (!(await Deno.stat(root).then((s) => s.isDirectory, () => false))) {
    throw new JobError(`${what} nfsrootfs.prefix: ${prefix} is not a directory of the archive`);
  }
  if (!COMMAND_LINE_SAFE.test(root)) {
    throw new JobError(
      `${what} nfsrootfs.prefix: ${JSON.stringify(prefix)} leads to ${JSON.stringify(root)}, which cannot go ` +
        `into a kernel command line (letters, digits and . _ / + - only)`,
    );
  }
  if (root !== unpacked) ctx.log.warning(`Adding '${prefix}' prefix, any other content will not be visible.`);
  ctx.log.info(`Extracted nfsroot to ${root}`);
  ctx.nfsRoot = root;
}

/** Exports the NFS root the deploy prepared, once everything is in it; the export goes when the job ends. */
export async function exportPreparedNfsRoot(ctx: JobContext): Promise<void> {
  if (ctx.nfsRoot === undefined) return;
  const served = await exportNfsRoot(ctx.dispatcher, ctx.jobId, ctx.nfsRoot, (m) => ctx.log.info(m), {
    clients: deviceAddresses(ctx.device),
  });
  ctx.cleanups.push(() => served.remove());
}

/** Puts the overlay into the NFS root unless the job's `install_overlay` is false; says whether it is on the device. */
export async function applyOverlayToNfsRoot(ctx: JobContext, spec: Block): Promise<boolean> {
  if (!ctx.overlay || ctx.nfsRoot === undefined) return false;
  if (spec.install_overlay === false) {
    ctx.log.info("The NFS root does not take the overlay (install_overlay: false)");
    return false;
  }
  const bytes = await mergeTree(ctx.overlay.root, ctx.nfsRoot, "nfsrootfs");
  ctx.overlayOnDevice = true;
  ctx.log.info(`Applied the overlay to the NFS root (${bytes} bytes)`);
  return true;
}

/** Puts the unpacked `modules` tree into the NFS root unless its `install_modules` is false; says whether it did. */
export async function addModulesToNfsRoot(ctx: JobContext, spec: Block, tree: string, what: string): Promise<boolean> {
  if (ctx.nfsRoot === undefined) return false;
  if (spec.install_modules === false) {
    ctx.log.info("Skipping applying modules to NFS (install_modules: false)");
    return false;
  }
  const bytes = await mergeTree(tree, ctx.nfsRoot, `${what} nfsrootfs`);
  ctx.log.info(`Added the kernel modules to the NFS root (${bytes} bytes)`);
  return true;
}
