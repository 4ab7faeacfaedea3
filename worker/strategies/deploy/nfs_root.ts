/**
 * An NFS root for a device (LAVA's `nfsrootfs`, deployed by `tftp` for boards or
 * `nfs` for QEMU): the downloaded archive unpacked as the device sees it, the
 * overlay and modules put into it, and only then the directory the job's `prefix`
 * names exported to the device for the job only — nothing can reach the tree while
 * the dispatcher writes into it. `{NFSROOTFS}` is that directory.
 */
import { basename, isAbsolute, join } from "../../../actors/path.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { unpackRootfs } from "../../drivers/archive.ts";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { exportNfsRoot, kernelExports } from "../../drivers/nfs_export.ts";
import { mergeTree } from "../../drivers/tree_merge.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { isWithin, realPathInside } from "../../job/paths.ts";
import type { Block, JobContext } from "../context.ts";

/** Where NFS roots are built when the kernel NFS server exports the jobs' directories (`nfs_staging_dir`). */
export const DEFAULT_NFS_STAGING_DIR = "/var/lib/basalt-nfs-staging";

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
  // worker's other users from running them (the NFS servers run as root). Where the kernel's export already covers
  // the job's directory, the root is built elsewhere and moved in when it is complete (see stagingDir).
  const fence = await Deno.makeTempDir({ dir: await stagingDir(ctx, what), prefix: `nfs-${ctx.jobId}-` });
  if (!fence.startsWith(`${ctx.workDir}/`)) {
    staged.set(ctx, fence);
    ctx.cleanups.push(() => Deno.remove(fence, { recursive: true }).catch(() => {}));
  }
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

/** The directory (in the staging directory) each job's root is being built in, until it is moved into place. */
const staged = new WeakMap<JobContext, string>();

/** Where a root is built: the job's own directory, unless the kernel NFS server exports it (then `nfs_staging_dir`). */
async function stagingDir(ctx: JobContext, what: string): Promise<string> {
  if ((ctx.dispatcher.nfs_server ?? "kernel") !== "kernel") return ctx.workDir;
  const exported = await kernelExports(ctx.dispatcher);
  const covers = (dir: string) => exported.some((path) => isWithin(path, dir));
  if (!covers(ctx.workDir)) return ctx.workDir;
  // An NFS client (a device of any job, root not squashed) can reach the job's directory: while the dispatcher, as
  // root, writes the overlay and modules in, it could swap a directory for a link and send those writes onto the
  // worker. The root is built where no export reaches, on the same filesystem, then moved into place.
  const staging = ctx.dispatcher.nfs_staging_dir ?? DEFAULT_NFS_STAGING_DIR;
  const fix = "set nfs_staging_dir in the dispatcher configuration to a directory the kernel NFS server does not " +
    "export, on the same filesystem as the worker's jobs";
  if (typeof staging !== "string" || !isAbsolute(staging)) {
    throw new ConfigurationError(`${what} nfsrootfs: nfs_staging_dir ${JSON.stringify(staging)}: ${fix}`);
  }
  if (covers(staging)) throw new ConfigurationError(`${what} nfsrootfs: ${staging} is exported by NFS: ${fix}`);
  await Deno.mkdir(staging, { recursive: true, mode: 0o700 });
  const [a, b] = await Promise.all([Deno.stat(staging), Deno.stat(ctx.workDir)]);
  if (a.dev !== b.dev) throw new ConfigurationError(`${what} nfsrootfs: ${staging} is on another filesystem: ${fix}`);
  return staging;
}

/**
 * Exports the NFS root the deploy prepared, once everything is in it, to `clients` (any when empty); the export goes
 * when the job ends. A root built in the staging directory is moved into the job's directory first.
 */
export async function exportPreparedNfsRoot(ctx: JobContext, clients: readonly string[]): Promise<void> {
  if (ctx.nfsRoot === undefined) return;
  const fence = staged.get(ctx);
  if (fence !== undefined && ctx.nfsRoot.startsWith(`${fence}/`)) {
    const moved = join(ctx.workDir, basename(fence));
    await Deno.rename(fence, moved);
    staged.delete(ctx);
    ctx.nfsRoot = moved + ctx.nfsRoot.slice(fence.length);
    if (!COMMAND_LINE_SAFE.test(ctx.nfsRoot)) {
      throw new JobError(`the NFS root's path ${JSON.stringify(ctx.nfsRoot)} cannot go into a kernel command line`);
    }
    ctx.log.info(`Moved the complete NFS root to ${ctx.nfsRoot}`);
  }
  const served = await exportNfsRoot(ctx.dispatcher, ctx.jobId, ctx.nfsRoot, (m) => ctx.log.info(m), { clients });
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
