/**
 * A real PostgreSQL server for tests. CI starts one cluster for the whole run and
 * passes its URL in BASALT_TEST_POSTGRES_URL; without it, a private cluster is
 * initialised in a temporary directory, started on 127.0.0.1 and stopped by PID.
 * Either way each caller gets databases of its own.
 */
import { textStream } from "../../actors/text_stream.ts";
import pg from "pg";

export const POSTGRES_URL_VARIABLE = "BASALT_TEST_POSTGRES_URL";

export interface PostgresServer {
  /** A new, empty database on the server; returns its URL. */
  createDatabase(): Promise<string>;
  /** Drops the databases made here and stops the server if this process started it. */
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const given = Deno.env.get(POSTGRES_URL_VARIABLE);
  if (given) return serverAt(given, async () => {});
  const cluster = await startCluster();
  return serverAt(cluster.url, cluster.stop);
}

function serverAt(adminUrl: string, stopServer: () => Promise<void>): PostgresServer {
  const created: string[] = [];
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    async createDatabase() {
      const name = `basalt_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      try {
        await admin(async (c) => {
          for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      } finally {
        await stopServer();
      }
    },
  };
}

/** Finds the newest installed PostgreSQL server binaries (Debian layout). */
export function postgresBinDir(): string {
  const versions: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/usr/lib/postgresql")) {
      const v = Number(entry.name);
      if (Number.isInteger(v)) versions.push(v);
    }
  } catch { /* not installed */ }
  if (versions.length === 0) {
    throw new Error("PostgreSQL server binaries not found in /usr/lib/postgresql: apt-get install postgresql");
  }
  return `/usr/lib/postgresql/${Math.max(...versions)}/bin`;
}

export interface Cluster {
  readonly url: string;
  stop(): Promise<void>;
  /** Stops the server (at once, as a crash, with `crash`) and starts it again on the same data and port. */
  restart(crash?: boolean): Promise<void>;
}

/** initdb refuses to run as root; as root, run PostgreSQL as the `postgres` user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (Deno.uid() !== 0) return [command, args];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args]];
}

/** A private PostgreSQL cluster on 127.0.0.1, started by PID, that a test may restart. */
export async function startCluster(options: { durable?: boolean } = {}): Promise<Cluster> {
  const bin = postgresBinDir();
  const dir = await Deno.makeTempDir({ prefix: "basalt-pg-" });
  if (Deno.uid() === 0) {
    const pw = await new Deno.Command("id", { args: ["-u", "postgres"] }).output();
    const gid = await new Deno.Command("id", { args: ["-g", "postgres"] }).output();
    const decode = (b: Uint8Array) => Number(new TextDecoder().decode(b).trim());
    await Deno.chown(dir, decode(pw.stdout), decode(gid.stdout));
  }
  const data = `${dir}/data`;
  const [initCmd, initArgs] = asServerUser(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    "basalt",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const init = await new Deno.Command(initCmd, { args: initArgs, stdout: "piped", stderr: "piped" }).output();
  if (!init.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`initdb failed: ${new TextDecoder().decode(init.stderr)}`);
  }
  const port = freePort();
  const [cmd, args] = asServerUser(`${bin}/postgres`, [
    "-D",
    data,
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-k",
    dir,
    // Fast and unsafe by default; a test that crashes the server needs commits that survive it.
    ...(options.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
  ]);
  let child: Deno.ChildProcess;
  const launch = async () => {
    child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    const log: string[] = [];
    const ready = waitForLine(child.stderr, /ready to accept connections/, log);
    const timeout = new Promise<false>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      ready.finally(() => clearTimeout(timer));
    });
    if (!(await Promise.race([ready, timeout]))) {
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}:\n${log.join("\n")}`);
    }
  };
  const halt = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
  };
  const stop = async () => {
    await halt("SIGINT"); // fast shutdown: roll back sessions, checkpoint, exit
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await launch();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://basalt@127.0.0.1:${port}/postgres`,
    stop,
    async restart(crash = false) {
      // SIGQUIT is PostgreSQL's immediate shutdown: what a crash looks like to its clients.
      await halt(crash ? "SIGQUIT" : "SIGINT");
      await launch();
    },
  };
}

async function waitForLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, log: string[]): Promise<boolean> {
  const lines = textStream(stream);
  const reader = lines.getReader();
  let buffer = "";
  let found = false;
  // Keep draining after the match so the server never blocks on a full stderr pipe.
  const drain = async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      if (found) continue;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        log.push(line);
        if (pattern.test(line)) found = true;
      }
      if (found) resolveFound(true);
    }
  };
  let resolveFound: (v: boolean) => void = () => {};
  const result = new Promise<boolean>((resolve) => (resolveFound = resolve));
  drain().then(() => resolveFound(found), () => resolveFound(found));
  return await result;
}

import { freePort } from "../../worker/drivers/free_port.ts";
export { freePort };
