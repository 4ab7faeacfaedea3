/**
 * Exporting a job's NFS root to its device. LAVA leaves this to the worker's
 * kernel NFS server, whose /etc/exports the admin writes once for the dispatcher's
 * directory; Basalt does that too (`nfs_server: kernel`, the default) and checks
 * the export is really there before a device is booted onto it. Where the kernel
 * has no NFS server (containers, these CI machines), `nfs_server: ganesha` uses
 * Debian's nfs-ganesha, a userspace server: each job gets an export of its own
 * root only, written beside the others into the file the server's configuration
 * includes (`nfs_ganesha_exports`), and the server is told to read it again. The
 * export goes when the job ends, whatever happened; an export whose directory is
 * gone (a dispatcher killed) is dropped at the next change.
 */
import { dirname, isAbsolute, join } from "node:path";
import { ConfigurationError, InfrastructureError, JobError } from "../job/errors.ts";
import { isWithin } from "../job/paths.ts";

/** Where Basalt writes ganesha's exports unless the dispatcher configuration says otherwise. */
export const DEFAULT_GANESHA_EXPORTS = "/var/lib/basalt/ganesha/exports.conf";
/** The pid file of Debian's nfs-ganesha service. */
export const DEFAULT_GANESHA_PID = "/run/ganesha/ganesha.pid";
/** Where the kernel NFS server lists what it exports (exportfs's table). */
export const KERNEL_EXPORTS_TABLE = "/var/lib/nfs/etab";

/** An export for one job: `remove` takes it away again. */
export interface NfsExport {
  readonly path: string;
  remove(): Promise<void>;
}

type Log = (message: string) => void;

function configuredPath(dispatcher: Record<string, unknown>, key: string, fallback: string): string {
  const value = dispatcher[key] ?? fallback;
  if (typeof value !== "string" || !isAbsolute(value)) {
    throw new ConfigurationError(`dispatcher configuration ${key}: ${JSON.stringify(value)} is not an absolute path`);
  }
  return value;
}

/** Exports `root` (the job's unpacked NFS root) to the job's device, by the dispatcher configuration's `nfs_server`. */
export function exportNfsRoot(
  dispatcher: Record<string, unknown>,
  jobId: string,
  root: string,
  log: Log,
): Promise<NfsExport> {
  const server = dispatcher.nfs_server ?? "kernel";
  if (server === "kernel") return checkKernelExport(root, KERNEL_EXPORTS_TABLE, log);
  if (server === "ganesha") {
    return exportWithGanesha(
      configuredPath(dispatcher, "nfs_ganesha_exports", DEFAULT_GANESHA_EXPORTS),
      configuredPath(dispatcher, "nfs_ganesha_pid", DEFAULT_GANESHA_PID),
      jobId,
      root,
      log,
    );
  }
  throw new ConfigurationError(
    `dispatcher configuration nfs_server: ${JSON.stringify(server)} is not kernel or ganesha`,
  );
}

/** The kernel server's exported directories, from exportfs's table (`/srv/x\tclient(options)`). */
export function exportedPaths(table: string): string[] {
  return table.split("\n").map((line) => line.split("\t")[0].trim()).filter((path) => path.startsWith("/"))
    .map((path) => path.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))));
}

async function checkKernelExport(root: string, table: string, log: Log): Promise<NfsExport> {
  let text: string;
  try {
    text = await Deno.readTextFile(table);
  } catch (error) {
    throw new InfrastructureError(
      `no kernel NFS server exports anything on this worker (${table}: ${(error as Error).message}); ` +
        `export the dispatcher's directory in /etc/exports, or set nfs_server: ganesha in the dispatcher configuration`,
    );
  }
  const covering = exportedPaths(text).find((path) => isWithin(path, root));
  if (!covering) {
    throw new InfrastructureError(
      `the kernel NFS server does not export ${root}: /etc/exports must hold a directory containing it`,
    );
  }
  log(`${root} is exported by the kernel NFS server (as part of ${covering})`);
  return { path: root, remove: () => Promise.resolve() };
}

/** One export block of ganesha's configuration: this directory only, as NFSv4, to any client. */
export function ganeshaExport(id: number, root: string): string {
  // The path goes between double quotes in ganesha's syntax: it may hold neither those nor a line break.
  if (/["\\\n\r]/.test(root)) throw new JobError(`the NFS root's path ${JSON.stringify(root)} cannot be exported`);
  return [
    "EXPORT {",
    `  Export_Id = ${id};`,
    `  Path = "${root}";`,
    `  Pseudo = "${root}";`,
    "  Access_Type = RW;",
    "  Squash = No_Root_Squash;",
    "  SecType = sys;",
    "  Protocols = 4;",
    "  Transports = TCP;",
    "  FSAL { Name = VFS; }",
    "}",
    "",
  ].join("\n");
}

const EXPORT_ID = /Export_Id = (\d+);/;
const EXPORT_PATH = /Path = "([^"]*)";/;

/** The job files' directory beside the exports file: one `<job>.conf` each. */
const jobsDir = (exportsFile: string) => join(dirname(exportsFile), "jobs");

async function withLock<T>(exportsFile: string, work: () => Promise<T>): Promise<T> {
  await Deno.mkdir(jobsDir(exportsFile), { recursive: true });
  const lock = await Deno.open(`${exportsFile}.lock`, { create: true, write: true });
  try {
    await lock.lock(true);
    return await work();
  } finally {
    lock.close();
  }
}

/** Rewrites the exports file from the job files whose directories still exist, then has ganesha read it again. */
async function rewriteExports(exportsFile: string, pidFile: string): Promise<void> {
  const blocks: string[] = [];
  for await (const entry of Deno.readDir(jobsDir(exportsFile))) {
    if (!entry.name.endsWith(".conf")) continue;
    const file = join(jobsDir(exportsFile), entry.name);
    const text = await Deno.readTextFile(file);
    const path = EXPORT_PATH.exec(text)?.[1];
    if (!path || !(await Deno.stat(path).then((s) => s.isDirectory, () => false))) {
      await Deno.remove(file).catch(() => {});
      continue;
    }
    blocks.push(text);
  }
  await Deno.writeTextFile(`${exportsFile}.tmp`, blocks.sort().join(""));
  await Deno.rename(`${exportsFile}.tmp`, exportsFile);
  await signalGanesha(pidFile);
}

async function signalGanesha(pidFile: string): Promise<void> {
  const pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
  const comm = Number.isSafeInteger(pid) && pid > 1
    ? (await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "")).trim()
    : "";
  if (!comm.startsWith("ganesha")) {
    throw new InfrastructureError(`nfs-ganesha is not running (pid file ${pidFile}): the NFS root cannot be served`);
  }
  Deno.kill(pid, "SIGHUP");
}

async function exportWithGanesha(
  exportsFile: string,
  pidFile: string,
  jobId: string,
  root: string,
  log: Log,
): Promise<NfsExport> {
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(jobId)) {
    throw new JobError(`job id ${JSON.stringify(jobId)} cannot name an export`);
  }
  const jobFile = join(jobsDir(exportsFile), `${jobId}.conf`);
  await withLock(exportsFile, async () => {
    const used = new Set<number>();
    for await (const entry of Deno.readDir(jobsDir(exportsFile))) {
      const id = EXPORT_ID.exec(await Deno.readTextFile(join(jobsDir(exportsFile), entry.name)).catch(() => ""));
      if (id) used.add(Number(id[1]));
    }
    // 0 is ganesha's pseudo root and low ids are the admin's own exports.
    let id = 1000;
    while (used.has(id)) id++;
    await Deno.writeTextFile(jobFile, ganeshaExport(id, root));
    try {
      await rewriteExports(exportsFile, pidFile);
    } catch (error) {
      await Deno.remove(jobFile).catch(() => {});
      throw error;
    }
    log(`NFS root ${root} exported by nfs-ganesha (export ${id})`);
  });
  return {
    path: root,
    remove: () =>
      withLock(exportsFile, async () => {
        await Deno.remove(jobFile).catch(() => {});
        await rewriteExports(exportsFile, pidFile);
        log(`NFS export of ${root} removed`);
      }),
  };
}
