/**
 * `deno task worker --name NAME --master ENDPOINT [--master ENDPOINT2]
 *  [--encrypt --master-cert MASTER.key --worker-cert NAME.key_secret]
 *  [--dispatcher-config D.yaml] [--env E.yaml] [--env-dut E.yaml]
 *  [--state-dir DIR] [--job-limit N] [--cancel-grace SECONDS]
 *  [--file-dirs DIR[,DIR]] [--max-download-size SIZE]`
 *
 * Runs a worker until SIGTERM or SIGINT. Stopping it leaves running jobs
 * running: start it again on the same state directory and it takes them over.
 */
import { resolve } from "../actors/path.ts";
import { parseArgs } from "../actors/cli/parse_args.ts";
import { readTextOrExit } from "../actors/cli/command_line.ts";
import { createLogger, type LogLevel } from "../actors/runtime/log.ts";
import { DataDirInUseError } from "../actors/runtime/dir_lock.ts";
import { CertificateError, readCertificate, readKeyPair } from "../actors/transport/zmq/curve.ts";
import { applyEnvironment, EnvironmentFileError, parseEnvironment } from "./runs/environment.ts";
import { startWorker } from "./worker.ts";
import { DEFAULT_FILE_DIRS, parseSize } from "./drivers/download.ts";
import { isWithin } from "./job/paths.ts";

const USAGE = `usage: deno task worker --name NAME --master ENDPOINT [--master ENDPOINT2 ...]
    [--encrypt --master-cert MASTER.key --worker-cert NAME.key_secret]
    [--dispatcher-config DISPATCHER.yaml] [--env ENV.yaml] [--env-dut ENV-DUT.yaml]
    [--state-dir DIR] [--job-limit N] [--cancel-grace SECONDS] [--log-level debug|info|warning|error]
    [--file-dirs DIR[,DIR...]] [--max-download-size SIZE] [--cache-size SIZE]

  --master        the master's mailbox, e.g. tcp://127.0.0.1:5556; several are tried in turn
  --encrypt       CurveZMQ: --master-cert is the master's public key, --worker-cert this worker's secret one
  --state-dir     the worker's journal, job files and download cache (default ./data/worker-NAME)
  --job-limit     jobs run at once at most (default 0: no limit)
  --cancel-grace  seconds a cancelled job's dispatcher has after SIGTERM before SIGKILL (default 60)
  --file-dirs     the only directories jobs may read file:// URLs and local git repositories from
                  (default ${DEFAULT_FILE_DIRS.join(",")}); never the state directory or keys
  --max-download-size  the largest download a job may make, once decompressed (default 16G)
  --cache-size    the most the download cache keeps; least recently used files go first (default 32G)`;

function usageError(message: string): never {
  console.error(`worker: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function readText(path: string | undefined, what: string): string | undefined {
  return path === undefined ? undefined : readTextOrExit("worker", path, what, 1);
}

function nonNegative(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) usageError(`--${name} must be a number of 0 or more, not ${value}`);
  return number;
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        name: { type: "string" },
        master: { type: "string", multiple: true },
        encrypt: { type: "boolean" },
        "master-cert": { type: "string" },
        "worker-cert": { type: "string" },
        "dispatcher-config": { type: "string" },
        env: { type: "string" },
        "env-dut": { type: "string" },
        "state-dir": { type: "string" },
        "job-limit": { type: "string" },
        "cancel-grace": { type: "string" },
        heartbeat: { type: "string" },
        "log-level": { type: "string" },
        "file-dirs": { type: "string" },
        "max-download-size": { type: "string" },
        "cache-size": { type: "string" },
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
  if (!values.name) usageError("--name is required");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name)) {
    usageError(`--name ${values.name}: use letters, digits, '.', '_' and '-'`);
  }
  if (!values.master?.length) usageError("give the master's endpoint with --master");
  const level = (values["log-level"] ?? "info") as LogLevel;
  if (!["debug", "info", "warning", "error"].includes(level)) usageError(`--log-level ${level} is not a level`);
  const logger = createLogger({ process: values.name, level });

  let curve;
  if (values.encrypt) {
    if (!values["master-cert"] || !values["worker-cert"]) usageError("--encrypt needs --master-cert and --worker-cert");
    try {
      curve = {
        keyPair: await readKeyPair(values["worker-cert"]),
        serverPublicKey: (await readCertificate(values["master-cert"])).publicKey,
      };
    } catch (error) {
      if (!(error instanceof CertificateError) && !(error instanceof Deno.errors.NotFound)) throw error;
      console.error(`worker: ${(error as Error).message}`);
      Deno.exit(1);
    }
  } else {
    for (const endpoint of values.master) {
      if (!/^(ipc|inproc):\/\/|^tcp:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):/.test(endpoint)) {
        logger.warning("talking to the master in plain text over the network; use --encrypt", { endpoint });
      }
    }
  }
  const stateDir = values["state-dir"] ?? `data/worker-${values.name}`;
  const fileDirs = values["file-dirs"]?.split(",").filter((d) => d !== "");
  // A job reads what these allow: never the worker's own state (job files, journal) or its key.
  for (const dir of fileDirs ?? DEFAULT_FILE_DIRS) {
    const real = (path: string) => {
      try {
        return Deno.realPathSync(path);
      } catch {
        return resolve(path);
      }
    };
    for (const [what, secret] of [["state directory", stateDir], ["key", values["worker-cert"]]] as const) {
      if (secret !== undefined && (isWithin(real(dir), real(secret)) || isWithin(real(secret), real(dir)))) {
        usageError(`--file-dirs ${dir} would let jobs read the worker's ${what} ${secret}`);
      }
    }
  }
  const maxDownloadBytes = values["max-download-size"] === undefined
    ? undefined
    : parseSize(values["max-download-size"]) ??
      usageError(`--max-download-size ${values["max-download-size"]}: give bytes or 64K, 512M, 16G`);
  const cacheBytes = values["cache-size"] === undefined
    ? undefined
    : parseSize(values["cache-size"]) ?? usageError(`--cache-size ${values["cache-size"]}: give bytes or 512M, 32G`);
  let environment: Record<string, string>;
  try {
    const envFile = readText(values.env, "environment file");
    environment = applyEnvironment(envFile ? parseEnvironment(envFile, values.env!) : undefined, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof EnvironmentFileError)) throw error;
    console.error(`worker: ${error.message}`);
    Deno.exit(1);
  }

  let worker;
  try {
    worker = await startWorker({
      name: values.name,
      masters: values.master,
      curve,
      stateDir,
      fileDirs,
      maxDownloadBytes,
      cacheBytes,
      jobLimit: Math.floor(nonNegative(values["job-limit"], "job-limit", 0)),
      cancelGraceMs: nonNegative(values["cancel-grace"], "cancel-grace", 60) * 1000,
      dispatcherConfig: readText(values["dispatcher-config"], "dispatcher configuration"),
      envDut: readText(values["env-dut"], "device environment"),
      environment,
      heartbeatMs: values.heartbeat ? nonNegative(values.heartbeat, "heartbeat", 1000) : undefined,
      logger,
    });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    console.error(`worker: ${error.message}`);
    Deno.exit(1);
  }
  logger.info("worker started", { masters: values.master, running: worker.runs.running() });
  const stop = async () => {
    logger.info("worker stopping; running jobs carry on", { running: worker.runs.running() });
    await worker.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
