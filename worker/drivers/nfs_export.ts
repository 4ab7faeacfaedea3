/**
 * Exporting a job's NFS root to its device. LAVA leaves this to the worker's
 * kernel NFS server, whose /etc/exports the admin writes once for the dispatcher's
 * directory; Basalt does that too (`nfs_server: kernel`, the default) and checks
 * the export is really there before a device is booted onto it. Where the kernel
 * has no NFS server (containers, these CI machines), `nfs_server: ganesha` uses
 * Debian's nfs-ganesha, a userspace server: each job gets an export of its own
 * root only, written beside the others into the file the server's configuration
 * includes (`nfs_ganesha_exports`), to the device's address when its dictionary
 * gives one (`device_ip`), and the server is told to read it again — its log
 * (`nfs_ganesha_log`, else the one it was started with) read to confirm it took
 * the export. Export ids are never
 * reused while the server runs (ganesha refuses an id whose path changes). The
 * export goes when the job ends, whatever happened; an export whose directory is
 * gone (a dispatcher killed) is dropped at the next change, or when the worker
 * forgets the job.
 */
import { dirname, isAbsolute, join } from "../../actors/path.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../job/errors.ts";
import { isWithin } from "../job/paths.ts";
import { whenChanged } from "./file_watch.ts";

/** Where Basalt writes ganesha's exports unless the dispatcher configuration says otherwise. */
export const DEFAULT_GANESHA_EXPORTS = "/var/lib/basalt/ganesha/exports.conf";
/** The pid file of Debian's nfs-ganesha service. */
export const DEFAULT_GANESHA_PID = "/run/ganesha/ganesha.pid";
/** Where the kernel NFS server lists what it exports (exportfs's table). */
export const KERNEL_EXPORTS_TABLE = "/var/lib/nfs/etab";
/** How long nfs-ganesha may take to read its exports again. */
const RELOAD_TIMEOUT_MS = 10_000;
/** Job export ids: 0 is ganesha's pseudo root, low ids are the admin's own exports; ganesha's ids are 16-bit. */
const FIRST_ID = 1000;
const LAST_ID = 65_000;

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

/** Who may mount a job's export, and where the kernel server's table is (tests give their own). */
export interface ExportOptions {
  /** The device's addresses (its dictionary's `device_ip`); any client when empty. */
  readonly clients?: readonly string[];
  readonly kernelTable?: string;
}

interface Ganesha {
  readonly exportsFile: string;
  readonly pidFile: string;
  /** Its log, when the configuration names it (else the server's own `-L` argument): reloads are confirmed there. */
  readonly logFile?: string;
}

function ganeshaOf(dispatcher: Record<string, unknown>): Ganesha {
  return {
    exportsFile: configuredPath(dispatcher, "nfs_ganesha_exports", DEFAULT_GANESHA_EXPORTS),
    pidFile: configuredPath(dispatcher, "nfs_ganesha_pid", DEFAULT_GANESHA_PID),
    logFile: dispatcher.nfs_ganesha_log === undefined ? undefined : configuredPath(dispatcher, "nfs_ganesha_log", ""),
  };
}

/** Exports `root` (the job's unpacked NFS root) to the job's device, by the dispatcher configuration's `nfs_server`. */
export function exportNfsRoot(
  dispatcher: Record<string, unknown>,
  jobId: string,
  root: string,
  log: Log,
  options: ExportOptions = {},
): Promise<NfsExport> {
  const server = dispatcher.nfs_server ?? "kernel";
  if (server === "kernel") return checkKernelExport(root, options.kernelTable ?? kernelExportsTable(dispatcher), log);
  if (server === "ganesha") return exportWithGanesha(ganeshaOf(dispatcher), jobId, root, options.clients ?? [], log);
  throw new ConfigurationError(
    `dispatcher configuration nfs_server: ${JSON.stringify(server)} is not kernel or ganesha`,
  );
}

/**
 * Drops the ganesha export of job `jobId` and those of jobs whose directories are
 * gone (the worker calls it when it forgets a job, so a dispatcher killed before
 * its finalize leaves no export behind); nothing when the worker's NFS server is
 * the kernel's.
 */
export async function dropStaleExports(dispatcher: Record<string, unknown>, jobId?: string): Promise<void> {
  if (dispatcher.nfs_server !== "ganesha") return;
  const ganesha = ganeshaOf(dispatcher);
  if (!(await Deno.stat(jobsDir(ganesha.exportsFile)).then(() => true, () => false))) return;
  await withLock(ganesha.exportsFile, async () => {
    // The job's own export first, whatever its directory's state (a device may still be writing to it).
    if (jobId !== undefined && JOB_FILE_NAME.test(jobId)) {
      await Deno.remove(join(jobsDir(ganesha.exportsFile), `${jobId}.conf`)).catch(() => {});
    }
    if (await rewriteExports(ganesha.exportsFile)) await reloadGanesha(ganesha, () => {});
  });
}

/** Where exportfs's table is read: `nfs_exports_table` in the dispatcher configuration, else the kernel's own. */
export function kernelExportsTable(dispatcher: Record<string, unknown>): string {
  return configuredPath(dispatcher, "nfs_exports_table", KERNEL_EXPORTS_TABLE);
}

/** The directories the kernel NFS server exports; none when it exports nothing (or there is none). */
export async function kernelExports(dispatcher: Record<string, unknown>): Promise<string[]> {
  return exportedPaths(await Deno.readTextFile(kernelExportsTable(dispatcher)).catch(() => ""));
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

/** An address or network ganesha's `Clients` takes (IPv4 or IPv6, a prefix length allowed). */
const CLIENT_ADDRESS = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(?:\/[0-9]{1,3})?$/;

/**
 * One export block of ganesha's configuration: this directory only, over NFSv3 and v4,
 * read-write with root kept (a root filesystem needs both) for `clients` only, or
 * for any client when none is known (as LAVA's usual `/etc/exports` line).
 */
export function ganeshaExport(id: number, root: string, clients: readonly string[] = []): string {
  // The path goes between double quotes in ganesha's syntax: it may hold neither those nor a line break.
  if (/["\\\n\r]/.test(root)) throw new JobError(`the NFS root's path ${JSON.stringify(root)} cannot be exported`);
  const bad = clients.find((client) => !CLIENT_ADDRESS.test(client));
  if (bad !== undefined) throw new ConfigurationError(`device_ip ${JSON.stringify(bad)} is not an address`);
  return [
    "EXPORT {",
    `  Export_Id = ${id};`,
    `  Path = "${root}";`,
    `  Pseudo = "${root}";`,
    ...(clients.length > 0
      ? ["  Access_Type = None;", `  CLIENT { Clients = ${clients.join(", ")}; Access_Type = RW; }`]
      : ["  Access_Type = RW;"]),
    "  Squash = No_Root_Squash;",
    "  SecType = sys;",
    // NFSv4 for Basalt's initramfs; v3 too for LAVA's usual `nfsroot=...,vers=3` jobs where the server has it on.
    "  Protocols = 3, 4;",
    "  Transports = TCP;",
    "  FSAL { Name = VFS; }",
    "}",
    "",
  ].join("\n");
}

/** A job id that can name its export's file. */
const JOB_FILE_NAME = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;
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

/**
 * Rewrites the exports file from the job files whose directories still exist;
 * says whether it changed (so ganesha must read it again).
 */
async function rewriteExports(exportsFile: string): Promise<boolean> {
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
  const text = blocks.sort().join("");
  if (text === await Deno.readTextFile(exportsFile).catch(() => undefined)) return false;
  await Deno.writeTextFile(`${exportsFile}.tmp`, text);
  await Deno.rename(`${exportsFile}.tmp`, exportsFile);
  return true;
}

async function ganeshaPid(pidFile: string): Promise<number> {
  const pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
  const comm = Number.isSafeInteger(pid) && pid > 1
    ? (await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "")).trim()
    : "";
  if (!comm.startsWith("ganesha")) {
    throw new InfrastructureError(`nfs-ganesha is not running (pid file ${pidFile}): the NFS root cannot be served`);
  }
  return pid;
}

/** The log file ganesha was started with (`-L path`), when it is a file. */
async function startedLog(pid: number): Promise<string | undefined> {
  const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).split("\0");
  const at = args.indexOf("-L");
  const path = at >= 0 ? args[at + 1] : undefined;
  return path && isAbsolute(path) ? path : undefined;
}

/** What ganesha logged for one reload of its exports: undefined until it finished. */
export function reloadOutcome(logged: string): { ok: boolean; errors: string[] } | undefined {
  const start = logged.indexOf("initiating export list reload");
  if (start < 0) return undefined;
  const lines = logged.slice(start).split("\n");
  const end = lines.findIndex((line) =>
    /Reread exports complete|Error while parsing new configuration|Error while parsing EXPORT entries/.test(line)
  );
  if (end < 0) return undefined;
  const errors = lines.slice(0, end + 1).filter((line) => line.includes(":CRIT :"));
  return { ok: errors.length === 0, errors: errors.map((line) => line.replace(/^.*:CRIT :/, "")) };
}

/**
 * Has ganesha read its exports again (SIGHUP), confirmed in its log when the
 * worker may read it: a reload it logs errors for is an infrastructure error.
 */
async function reloadGanesha(ganesha: Ganesha, log: Log): Promise<void> {
  const pid = await ganeshaPid(ganesha.pidFile);
  const logFile = ganesha.logFile ?? await startedLog(pid);
  const offset = logFile ? await Deno.stat(logFile).then((s) => s.size, () => undefined) : undefined;
  try {
    Deno.kill(pid, "SIGHUP");
  } catch (error) {
    throw new InfrastructureError(
      `nfs-ganesha (pid ${pid}) cannot be told to read its exports again: ${(error as Error).message}; ` +
        `the worker must run as root (or as ganesha's user) to serve NFS roots`,
    );
  }
  if (!logFile || offset === undefined) {
    log(`nfs-ganesha's reload is not confirmed: its log ${logFile ?? "(not a file)"} cannot be read (nfs_ganesha_log)`);
    return;
  }
  let outcome: ReturnType<typeof reloadOutcome>;
  // What ganesha logged since the signal; a reload logs a few lines, so 64 KiB is plenty and bounds the read.
  const read = async () => {
    using file = await Deno.open(logFile, { read: true });
    await file.seek(offset, Deno.SeekMode.Start);
    const buffer = new Uint8Array(64 * 1024);
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled));
  };
  try {
    await whenChanged(
      logFile,
      async () => (outcome = reloadOutcome(await read())) !== undefined,
      RELOAD_TIMEOUT_MS,
      "reload",
    );
  } catch {
    throw new InfrastructureError(
      `nfs-ganesha did not log reading its exports again within ${RELOAD_TIMEOUT_MS / 1000} s (${logFile})`,
    );
  }
  if (!outcome!.ok) {
    throw new InfrastructureError(`nfs-ganesha refused the exports: ${outcome!.errors.join("; ").slice(0, 500)}`);
  }
}

/** The next export id: counted on across jobs (in `next-id`), skipping ids in use, wrapping at ganesha's limit. */
async function nextExportId(exportsFile: string): Promise<number> {
  const used = new Set<number>();
  for await (const entry of Deno.readDir(jobsDir(exportsFile))) {
    const id = EXPORT_ID.exec(await Deno.readTextFile(join(jobsDir(exportsFile), entry.name)).catch(() => ""));
    if (id) used.add(Number(id[1]));
  }
  const counter = join(dirname(exportsFile), "next-id");
  const stored = Number((await Deno.readTextFile(counter).catch(() => "")).trim());
  let id = Number.isSafeInteger(stored) && stored >= FIRST_ID && stored <= LAST_ID ? stored : FIRST_ID;
  for (let tries = 0; used.has(id); tries++) {
    if (tries > LAST_ID - FIRST_ID) throw new InfrastructureError("nfs-ganesha: every job export id is in use");
    id = id >= LAST_ID ? FIRST_ID : id + 1;
  }
  await Deno.writeTextFile(counter, `${id >= LAST_ID ? FIRST_ID : id + 1}\n`);
  return id;
}

async function exportWithGanesha(
  ganesha: Ganesha,
  jobId: string,
  root: string,
  clients: readonly string[],
  log: Log,
): Promise<NfsExport> {
  if (!JOB_FILE_NAME.test(jobId)) {
    throw new JobError(`job id ${JSON.stringify(jobId)} cannot name an export`);
  }
  const { exportsFile } = ganesha;
  const jobFile = join(jobsDir(exportsFile), `${jobId}.conf`);
  await withLock(exportsFile, async () => {
    const id = await nextExportId(exportsFile);
    await Deno.writeTextFile(jobFile, ganeshaExport(id, root, clients));
    try {
      await rewriteExports(exportsFile);
      await reloadGanesha(ganesha, log);
    } catch (error) {
      // ganesha commits the blocks it could read even when another fails, and a reload not confirmed in time may
      // have worked: the export goes, and ganesha is told so.
      await Deno.remove(jobFile).catch(() => {});
      if (await rewriteExports(exportsFile).catch(() => false)) await reloadGanesha(ganesha, () => {}).catch(() => {});
      throw error;
    }
    log(
      `NFS root ${root} exported by nfs-ganesha (export ${id}, to ${
        clients.length > 0 ? clients.join(", ") : "any client"
      })`,
    );
  });
  return {
    path: root,
    remove: () =>
      withLock(exportsFile, async () => {
        await Deno.remove(jobFile).catch(() => {});
        if (await rewriteExports(exportsFile)) await reloadGanesha(ganesha, () => {});
        log(`NFS export of ${root} removed`);
      }),
  };
}
