/**
 * `deno task coordinator [--config /etc/lava-coordinator/lava-coordinator.conf]
 *  [--bind 127.0.0.1] [--port 3079] [--state-dir DIR] [--expire-hours 24]`
 *
 * LAVA's MultiNode coordinator protocol on TCP. The config file is LAVA's JSON
 * (`port`, `blocksize`, `poll_delay`, `coordinator_hostname`); `--port` wins over
 * it. Prints {"event":"ready","port":N} on stdout when it listens.
 */
import { parseArgs } from "node:util";
import { createLogger, type LogLevel } from "../actors/runtime/log.ts";
import { DataDirInUseError } from "../actors/runtime/dir_lock.ts";
import { Coordinator } from "./server.ts";
import { GroupStore } from "./store.ts";

const USAGE = `usage: deno task coordinator [--config FILE] [--bind ADDRESS] [--port N] [--state-dir DIR]
    [--expire-hours H] [--log-level debug|info|warning|error]

  --config        LAVA's lava-coordinator.conf (JSON: port, blocksize, poll_delay, coordinator_hostname)
  --bind          the address to listen on (default 127.0.0.1)
  --port          the port (default: the config's, else 3079)
  --state-dir     where groups are kept across restarts (default ./data/coordinator)
  --expire-hours  groups idle this long are dropped (default 24)`;

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
    coordinator = Coordinator.start({ hostname: values.bind, port, store, logger, expireMs: expireHours * 3_600_000 });
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
