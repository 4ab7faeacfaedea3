/**
 * An NBD server for one job's root filesystem image (LAVA's `nbdroot`, served
 * by `xnbd-server-deploy`): Debian's nbd-server, started as LAVA starts it
 * (`nbd-server [ip@]PORT FILE`, newstyle, the unnamed export), with a
 * configuration of its own so the machine's `/etc/nbd-server/config` plays no
 * part, an allow-list when the device's address is known, and a pid file that
 * says it listens. It and the children it forks for each connection
 * are stopped when the job ends, whatever happened, found by the job's own
 * directory on their command lines (as the worker's sweep of a killed
 * dispatcher's processes finds them).
 */
import { join } from "../../actors/path.ts";
import { ConfigurationError, InfrastructureError } from "../job/errors.ts";
import { whenChanged } from "./file_watch.ts";
import { killProcessesUnder } from "../system/processes.ts";

/** How long nbd-server may take to listen. */
const START_TIMEOUT_MS = 10_000;

export interface NbdServer {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

export interface NbdServerOptions {
  /** The image served, read-write as LAVA serves it. */
  readonly image: string;
  /** Where the server's configuration, allow-list and pid file go (the job's own directory). */
  readonly dir: string;
  /** The address to listen on ("0.0.0.0" for all). */
  readonly hostname: string;
  readonly port: number;
  /** The addresses allowed to connect; any when empty. */
  readonly clients: readonly string[];
}

const ADDRESS = /^[0-9A-Fa-f.:/]+$/;

async function readPid(pidFile: string): Promise<number | undefined> {
  const pid = Number((await Deno.readTextFile(pidFile).catch(() => "")).trim());
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/** Starts nbd-server on `image`; resolves once it listens. */
export async function startNbdServer(o: NbdServerOptions): Promise<NbdServer> {
  for (const client of o.clients) {
    if (!ADDRESS.test(client)) throw new ConfigurationError(`device_ip ${JSON.stringify(client)} is not an address`);
  }
  const config = join(o.dir, "nbd-server.conf");
  const pidFile = join(o.dir, "nbd-server.pid");
  const allow = join(o.dir, "nbd-server.allow");
  await Deno.writeTextFile(config, "[generic]\n");
  await Deno.remove(pidFile).catch(() => {});
  const args = [`${o.hostname}${o.hostname.includes(":") ? "@" : ":"}${o.port}`, o.image, "-C", config, "-p", pidFile];
  if (o.clients.length > 0) {
    await Deno.writeTextFile(allow, o.clients.join("\n") + "\n");
    args.push("-l", allow);
  }
  // Its parent returns once it has bound its socket and forked the server, which writes the pid file.
  const output = await new Deno.Command("nbd-server", { args, stdin: "null", stdout: "null", stderr: "piped" })
    .output()
    .catch((error) => {
      throw new InfrastructureError(`nbd-server cannot be started: ${(error as Error).message} (install nbd-server)`);
    });
  const said = new TextDecoder().decode(output.stderr).trim();
  if (!output.success) {
    throw new InfrastructureError(`nbd-server did not start: ${said.slice(-400) || `exit code ${output.code}`}`);
  }
  const stop = async () => {
    // The server and the children it forked for each connection: all carry the job's configuration on their
    // command lines. Nothing is lost by SIGKILL: every write already went to the image file.
    await killProcessesUnder(o.dir, { wait: true });
  };
  try {
    await whenChanged(o.dir, async () => (await readPid(pidFile)) !== undefined, START_TIMEOUT_MS, "pid file");
  } catch {
    await stop();
    throw new InfrastructureError(`nbd-server did not say it listens (no ${pidFile} within ${START_TIMEOUT_MS} ms)`);
  }
  return { pid: (await readPid(pidFile))!, port: o.port, stop };
}
