/**
 * `deno task master [--data-dir DIR | --db URL] [--http ADDR:PORT] [--zmq ENDPOINT]
 *  [--events ENDPOINT] [--lab-dir DIR] [--encrypt --master-cert F --workers-certs DIR]
 *  [--coordinator HOST:PORT] [--keep-days N] [--secrets-key FILE]`
 *
 * Runs the master until SIGTERM or SIGINT. When it is up it prints one JSON line
 * on stdout: {"event":"ready","http":...,"zmq":...,"events":...}.
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { readCertificate, readKeyPair } from "../actors/transport/zmq/curve.ts";
import { allowKeysIn } from "../actors/transport/zmq/zap.ts";
import { createLogger, type LogLevel } from "../actors/runtime/log.ts";
import { DataDirInUseError } from "../actors/runtime/dir_lock.ts";
import { SecretBoxError } from "./storage/secret_box.ts";
import { StorageError } from "./storage/database.ts";
import { StorageOptionsError, storageTargetFrom } from "./storage/target.ts";
import { startMaster } from "./master.ts";

const USAGE = `usage: deno task master [--data-dir DIR | --db postgres://...] [--http ADDR:PORT] [--zmq ENDPOINT]
    [--events ENDPOINT] [--lab-dir DIR] [--encrypt --master-cert MASTER.key_secret --workers-certs DIR]
    [--coordinator HOST:PORT] [--secure-cookies] [--keep-days N] [--proxy-user-header H --trusted-proxy ADDR]
    [--secrets-key FILE]
    [--log-level debug|info|warning|error]

  --http          the web UI and APIs (default 127.0.0.1:8000)
  --zmq           the workers' mailbox (default tcp://127.0.0.1:5556)
  --events        LAVA's ZeroMQ event stream (default tcp://127.0.0.1:5500)
  --lab-dir       devices/, device-types/ and health-checks/ (default DATA-DIR/lab)
  --encrypt       CurveZMQ for the workers' mailbox: --master-cert is the master's secret key,
                  --workers-certs the directory of the workers' public keys allowed in
  --coordinator   the MultiNode coordinator sub-jobs are given (default 127.0.0.1:3079)
  --secure-cookies  mark the web UI's cookies Secure: browsers reach the master over HTTPS (a proxy terminates it)
  --keep-days     purge finished jobs (definition, log, results, history) older than N days, for device types
                  without their own retention (deno task manage device-types update T --retention-days N);
                  without it those jobs are kept for ever
  --proxy-user-header, --trusted-proxy
                  single sign-on: a browser request arriving from ADDR (the reverse proxy's own address) with
                  header H is the Basalt user H names, if that user exists and is active; off unless both are given
  --secrets-key   the key users' callback tokens are sealed with, kept apart from the database (made on first
                  use; default DATA-DIR/secrets.key; a PostgreSQL master without it keeps no callback tokens)`;

function usageError(message: string): never {
  console.error(`master: ${message}\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        "data-dir": { type: "string" },
        db: { type: "string" },
        http: { type: "string", default: "127.0.0.1:8000" },
        zmq: { type: "string", default: "tcp://127.0.0.1:5556" },
        events: { type: "string", default: "tcp://127.0.0.1:5500" },
        "lab-dir": { type: "string" },
        "secrets-key": { type: "string" },
        encrypt: { type: "boolean" },
        "secure-cookies": { type: "boolean" },
        "master-cert": { type: "string" },
        "workers-certs": { type: "string" },
        coordinator: { type: "string", default: "127.0.0.1:3079" },
        heartbeat: { type: "string" },
        "keep-days": { type: "string" },
        "proxy-user-header": { type: "string" },
        "trusted-proxy": { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const http = /^(.+):(\d+)$/.exec(values.http);
  if (!http) usageError(`--http ${values.http}: expected ADDRESS:PORT`);
  const coordinator = /^(.+):(\d+)$/.exec(values.coordinator);
  if (!coordinator) usageError(`--coordinator ${values.coordinator}: expected HOST:PORT`);
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warning", "error"].includes(level)) usageError(`--log-level ${level} is not a level`);
  const logger = createLogger({ process: "master", level });
  const keepDays = values["keep-days"] === undefined ? null : Number(values["keep-days"]);
  if (keepDays !== null && !(Number.isInteger(keepDays) && keepDays > 0)) {
    usageError(`--keep-days ${values["keep-days"]}: expected a whole number of days, 1 or more`);
  }
  const proxyHeader = values["proxy-user-header"], proxyAddress = values["trusted-proxy"];
  if ((proxyHeader === undefined) !== (proxyAddress === undefined)) {
    usageError("--proxy-user-header and --trusted-proxy go together");
  }
  if (proxyHeader !== undefined && !/^[A-Za-z0-9-]{1,100}$/.test(proxyHeader)) {
    usageError(`--proxy-user-header ${proxyHeader}: a header name is letters, digits and '-'`);
  }
  let storage;
  try {
    storage = storageTargetFrom({ dataDir: values["data-dir"], db: values.db });
  } catch (error) {
    if (error instanceof StorageOptionsError) usageError(error.message);
    throw error;
  }
  let curve;
  let certificates;
  if (values.encrypt) {
    if (!values["master-cert"] || !values["workers-certs"]) {
      usageError("--encrypt needs --master-cert and --workers-certs");
    }
    const directory = values["workers-certs"];
    const keyPair = await readKeyPair(values["master-cert"]);
    curve = { keyPair, authorize: allowKeysIn(directory) };
    const name = (await readCertificate(values["master-cert"])).metadata.name ?? "master";
    certificates = { master: { name, publicKey: keyPair.publicKey }, workersDir: directory };
  }
  let master;
  try {
    master = await startMaster({
      storage,
      http: { hostname: http[1], port: Number(http[2]) },
      zmq: values.zmq,
      events: values.events,
      labDir: values["lab-dir"],
      curve,
      coordinator: { host: coordinator[1], port: Number(coordinator[2]) },
      heartbeatMs: values.heartbeat ? Number(values.heartbeat) : undefined,
      secureCookies: values["secure-cookies"] ?? false,
      keepDays,
      proxyLogin: proxyHeader && proxyAddress ? { header: proxyHeader, address: proxyAddress } : undefined,
      secretsKey: values["secrets-key"],
      certificates,
      logger,
    });
  } catch (error) {
    if (error instanceof DataDirInUseError || error instanceof StorageError || error instanceof SecretBoxError) {
      console.error(`master: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
  if (master.storage.applied.length > 0 && !master.storage.applied.includes("0001_domain")) {
    logger.warning(
      "the database was upgraded to this version's schema; keep a backup from before the upgrade " +
        "(a copy of the data directory, or pg_dump) if you may need to go back: migrations only go forward",
      {
        migrations: master.storage.applied,
      },
    );
  }
  console.log(JSON.stringify({ event: "ready", http: master.url, zmq: master.zmq, events: master.events }));
  logger.info("master started", { http: master.url, zmq: master.zmq, events: master.events });
  const stop = async () => {
    logger.info("master stopping");
    await master.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
