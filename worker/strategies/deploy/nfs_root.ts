/**
 * An NFS root for a device (LAVA's `nfsrootfs`, deployed by `tftp` for boards or
 * `nfs` for QEMU): the downloaded archive unpacked as the device sees it, the
 * directory the job's `prefix` names exported to the device for the job only, and
 * the overlay put into it. `{NFSROOTFS}` is that directory.
 */
import { join } from "node:path";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { unpackRootfs } from "../../drivers/archive.ts";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { exportNfsRoot } from "../../drivers/nfs_export.ts";
import { mergeTree } from "../../drivers/tree_merge.ts";
import { JobError } from "../../job/errors.ts";
import { realPathInside } from "../../job/paths.ts";
import type { Block, JobContext } from "../context.ts";

/** Unpacks and exports the job's nfsrootfs (`spec`, its deploy's `nfsrootfs` block); nothing without one. */
export async function extractNfsRoot(ctx: JobContext, spec: unknown, what: string): Promise<void> {
  const archive = ctx.downloads.get("nfsrootfs");
  if (!archive || !isMapping(spec)) return;
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
  if (root !== unpacked) ctx.log.warning(`Adding '${prefix}' prefix, any other content will not be visible.`);
  ctx.log.info(`Extracted nfsroot to ${root}`);
  const served = await exportNfsRoot(ctx.dispatcher, ctx.jobId, root, (m) => ctx.log.info(m));
  ctx.cleanups.push(() => served.remove());
  ctx.nfsRoot = root;
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
