/**
 * `deno task coordinator [--config /etc/lava-coordinator/lava-coordinator.conf]
 *  [--bind 127.0.0.1] [--port 3079] [--state-dir DIR] [--expire-hours 24]
 *  [--max-connections N] [--max-connections-per-address N] [--max-groups N]`
 *
 * LAVA's MultiNode coordinator protocol on TCP. The config file is LAVA's JSON
 * (`port`, `blocksize`, `poll_delay`, `coordinator_hostname`); `--port` wins over
 * it. Prints {"event":"ready","port":N} on stdout when it listens. The bounds
 * (limits.ts, README) have their defaults; the ones a lab's size decides can
 * be changed here.
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { createLogger, type LogLevel } from "../actors/runtime/log.ts";
import { DataDirInUseError } from "../actors/runtime/dir_lock.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { Coordinator } from "./server.ts";
import { GroupStore } from "./store.ts";

const USAGE = `usage: deno task coordinator [--config FILE] [--bind ADDRESS] [--port N] [--state-dir DIR]
    [--expire-hours H] [--log-level debug|info|warning|error]
    [--max-connections N] [--max-connections-per-address N] [--max-groups N]

  --config        LAVA's lava-coordinator.conf (JSON: port, blocksize, poll_delay, coordinator_hostname)
  --bind          the address to listen on (default 127.0.0.1)
  --port          the port (default: the config's, else 3079)
  --state-dir     where groups are kept across restarts (default ./data/coordinator)
  --expire-hours  groups idle this long are dropped (default 24)
  --max-connections              open connections in all (default ${DEFAULT_LIMITS.maxConnections})
  --max-connections-per-address  open connections from one address (default ${DEFAULT_LIMITS.maxConnectionsPerAddress})
  --max-groups                   groups in all (default ${DEFAULT_LIMITS.maxGroups})`;

function fail(message: string, code = 2): never {
  console.error(`coordinator: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        bind: { type: "string", default: "127.0.0.1" },
        port: { type: "string" },
        "state-dir": { type: "string", default: "data/coordinator" },
        "expire-hours": { type: "string", default: "24" },
        "log-level": { type: "string", default: "info" },
        "max-connections": { type: "string" },
        "max-connections-per-address": { type: "string" },
        "max-groups": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  let config: Record<string, unknown> = {};
  if (values.config) {
    let text: string;
    try {
      text = Deno.readTextFileSync(values.config);
    } catch (error) {
      fail(`cannot read ${values.config}: ${(error as Error).message}`, 1);
    }
    try {
      const value = JSON.parse(text);
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
      config = value;
    } catch (error) {
      fail(`${values.config}: not LAVA's coordinator configuration: ${(error as Error).message}`, 1);
    }
    if (config.port !== undefined && !Number.isInteger(config.port)) fail(`${values.config}: port must be a number`, 1);
  }
  const port = values.port !== undefined ? Number(values.port) : (config.port as number | undefined) ?? 3079;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${values.port} is not a port`);
  const expireHours = Number(values["expire-hours"]);
  if (!(expireHours > 0)) fail(`--expire-hours ${values["expire-hours"]} must be above 0`);
  const level = values["log-level"] as LogLevel;
  if (!["debug", "info", "warning", "error"].includes(level)) fail(`--log-level ${level} is not a level`);
  const count = (option: "max-connections" | "max-connections-per-address" | "max-groups", fallback: number) => {
    const text = values[option];
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) fail(`--${option} ${text} must be a whole number above 0`);
    return n;
  };
  const limits = {
    maxConnections: count("max-connections", DEFAULT_LIMITS.maxConnections),
    maxConnectionsPerAddress: count("max-connections-per-address", DEFAULT_LIMITS.maxConnectionsPerAddress),
    maxGroups: count("max-groups", DEFAULT_LIMITS.maxGroups),
  };
  const logger = createLogger({ process: "coordinator", level });
  let store;
  try {
    store = GroupStore.open(values["state-dir"]);
  } catch (error) {
    if (error instanceof DataDirInUseError) fail(error.message, 1);
    throw error;
  }
  let coordinator;
  try {
    coordinator = Coordinator.start({
      hostname: values.bind,
      port,
      store,
      logger,
      expireMs: expireHours * 3_600_000,
      limits,
    });
  } catch (error) {
    fail(`cannot listen on ${values.bind}:${port}: ${(error as Error).message}`, 1);
  }
  console.log(JSON.stringify({ event: "ready", port: coordinator.port, groups: coordinator.groups.groups.size }));
  logger.info("coordinator listening", { bind: values.bind, port: coordinator.port });
  const stop = async () => {
    await coordinator.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
