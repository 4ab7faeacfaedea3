/**
 * A real nfs-ganesha (Debian's, a userspace NFSv4 server) for tests: on 127.0.0.1
 * at a free port, its configuration, state and log in a directory of its own, the
 * exports Basalt writes included from `exportsFile`; stopped (or restarted, for a
 * fault) by PID. A QEMU guest on the user network reaches it at 10.0.2.2:port.
 */
import { freePort } from "../../worker/drivers/free_port.ts";
import { whenChanged } from "../../worker/drivers/file_watch.ts";

export interface Ganesha {
  readonly port: number;
  readonly exportsFile: string;
  readonly pidFile: string;
  readonly log: string;
  /** The dispatcher configuration lines that have a job's NFS root exported by this server. */
  readonly dispatcherConfig: Record<string, string>;
  /** Stops the server and starts it again on the same port with the same exports (an NFS server restarted). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startGanesha(): Promise<Ganesha> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-ganesha-" });
  const port = freePort();
  const exportsFile = `${dir}/exports/exports.conf`;
  const pidFile = `${dir}/ganesha.pid`;
  const log = `${dir}/ganesha.log`;
  await Deno.mkdir(`${dir}/exports`);
  await Deno.mkdir(`${dir}/recovery`);
  await Deno.writeTextFile(exportsFile, "");
  // The first start serves at once; a restart gives the clients it had a short grace period to reclaim their
  // state (their records are kept in the recovery directory), as a real server's restart does.
  const configure = (graceless: boolean) =>
    Deno.writeTextFile(
      `${dir}/ganesha.conf`,
      [
        `NFS_CORE_PARAM { Protocols = 4; NFS_Port = ${port}; Bind_addr = 127.0.0.1; Enable_NLM = false; Enable_RQUOTA = false; }`,
        `NFSV4 { Graceless = ${graceless}; Grace_Period = 15; Lease_Lifetime = 10; RecoveryBackend = fs; RecoveryRoot = "${dir}/recovery"; }`,
        "NFS_KRB5 { Active_krb5 = false; }",
        `%include "${exportsFile}"`,
        "",
      ].join("\n"),
    );
  let child: Deno.ChildProcess | undefined;
  const start = async (graceless = true) => {
    await configure(graceless);
    await Deno.writeTextFile(log, "");
    child = new Deno.Command("ganesha.nfsd", {
      args: ["-F", "-L", log, "-f", `${dir}/ganesha.conf`, "-p", pidFile],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let up = false;
    const died = child.status.then(async () => {
      if (!up) throw new Error(`ganesha.nfsd exited: ${(await Deno.readTextFile(log)).slice(-2000)}`);
    });
    await Promise.race([
      whenChanged(
        dir,
        async () => (await Deno.readTextFile(log)).includes("NFS SERVER INITIALIZED"),
        20_000,
        "ganesha",
      ),
      died,
    ]);
    up = true;
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone already */ }
    await child.status;
    child = undefined;
  };
  await start();
  return {
    port,
    exportsFile,
    pidFile,
    log,
    dispatcherConfig: { nfs_server: "ganesha", nfs_ganesha_exports: exportsFile, nfs_ganesha_pid: pidFile },
    restart: async () => {
      await stop();
      await start(false);
    },
    stop: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
