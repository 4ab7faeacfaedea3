/**
 * A job's directory under the worker's TFTP root, laid out as LAVA lays it out:
 * `<tftp_root>/<job id>/tftp-deploy-<random>/<key>/<file>`, so a bootloader
 * fetches `<job id>/tftp-deploy-…/kernel/Image` relative to the server's root.
 * The TFTP server (tftpd-hpa, or QEMU's own for a virtual board) serves the root;
 * the dispatcher only writes under it and removes the job's directory at the end.
 */
import { isAbsolute, join, relative, resolve } from "../../actors/path.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../job/errors.ts";
import { isWithin } from "../job/paths.ts";

/** tftpd-hpa's directory on Debian (its /etc/default/tftpd-hpa), LAVA's default too. */
export const DEFAULT_TFTP_ROOT = "/srv/tftp";
/** LAVA's largest file sent over TFTP unless the dispatcher configuration says otherwise (4 GiB). */
export const DEFAULT_TFTP_SIZE_LIMIT = 4 * 2 ** 30;

/**
 * The directory a TFTP server serves: the dispatcher configuration's `tftp_root`,
 * else tftpd-hpa's when it is there. Undefined when the worker serves none: a
 * deploy's files then stay in the job's scratch space and bootloaders are given
 * absolute paths (what a simulated board reads directly).
 */
export function tftpRoot(dispatcher: Record<string, unknown>): string | undefined {
  const root = dispatcher.tftp_root;
  if (root === undefined || root === null) {
    try {
      return Deno.statSync(DEFAULT_TFTP_ROOT).isDirectory ? DEFAULT_TFTP_ROOT : undefined;
    } catch {
      return undefined;
    }
  }
  if (typeof root !== "string" || !isAbsolute(root)) {
    throw new ConfigurationError(`dispatcher configuration tftp_root: ${JSON.stringify(root)} is not an absolute path`);
  }
  return resolve(root);
}

/** The dispatcher configuration's `tftp_size_limit` in bytes. */
export function tftpSizeLimit(dispatcher: Record<string, unknown>): number {
  const limit = dispatcher.tftp_size_limit ?? DEFAULT_TFTP_SIZE_LIMIT;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit <= 0) {
    throw new ConfigurationError(`dispatcher configuration tftp_size_limit: ${JSON.stringify(limit)} is not a size`);
  }
  return limit;
}

/** The job's own directory under the root: what the end of the job removes. */
export function jobTftpDir(root: string, jobId: string): string {
  // A MultiNode sub-job's id is "12.1": digits and dots only ever reach here, but the id names a directory.
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(jobId) || jobId.includes("..")) {
    throw new JobError(`job id ${JSON.stringify(jobId)} cannot name a TFTP directory`);
  }
  return join(root, jobId);
}

/** Creates `<root>/<job>/tftp-deploy-<random>` for one deploy; the worker must be able to write the root. */
export async function makeDeployDir(root: string, jobId: string, method: string): Promise<string> {
  const jobDir = jobTftpDir(root, jobId);
  try {
    await Deno.mkdir(jobDir, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: jobDir, prefix: `${method}-deploy-` });
    // tftpd-hpa reads as its own user (tftp), not the worker's: a temporary directory's 0700 would hide the files.
    await Deno.chmod(jobDir, 0o755);
    await Deno.chmod(dir, 0o755);
    return dir;
  } catch (error) {
    throw new InfrastructureError(
      `the TFTP root ${root} (dispatcher configuration tftp_root) cannot hold the job's files: ${
        (error as Error).message
      }`,
    );
  }
}

/** A file as a bootloader asks for it: relative to the served root, or absolute when nothing is served. */
export function servedName(root: string | undefined, path: string): string {
  const absolute = resolve(path);
  if (root === undefined) return absolute;
  if (!isWithin(root, absolute) || absolute === root) {
    throw new InfrastructureError(`${path} is not under the TFTP root ${root}`);
  }
  return relative(root, absolute);
}

/** Refuses a file the TFTP server would not send (LAVA's tftp_size_limit), naming it. */
export async function checkServable(path: string, limit: number): Promise<void> {
  const size = (await Deno.stat(path)).size;
  if (size >= limit) {
    throw new JobError(`Unable to send '${path.split("/").pop()}' over tftp: file too large (${size} > ${limit})`);
  }
}

/** Removes the job's directory under the root, whatever it holds. */
export async function removeJobTftpDir(root: string, jobId: string): Promise<void> {
  await Deno.remove(jobTftpDir(root, jobId), { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
