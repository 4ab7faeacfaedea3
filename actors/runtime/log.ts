/**
 * Structured logs: one JSON object per line on stderr, with the time, level,
 * process name, message and fields, so journald, files and log shippers all read
 * them the same way.
 */

export type LogLevel = "debug" | "info" | "warning" | "error";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields`. */
  with(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export interface LoggerOptions {
  readonly process: string;
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
}

const encoder = new TextEncoder();
const writeStderr = (line: string) => {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
};

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const minimum = ORDER[options.level ?? "info"];
  const write = options.write ?? writeStderr;
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[level] < minimum) return;
    write(
      JSON.stringify({
        dt: new Date().toISOString(),
        lvl: level,
        process: options.process,
        msg: message,
        ...bound,
        ...fields,
      }, errorReplacer),
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warning: (m, f) => emit("warning", m, f),
    error: (m, f) => emit("error", m, f),
    with: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** A logger that keeps lines in memory, for tests. */
export function memoryLogger(process = "test"): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ process, level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return Object.assign(logger, { lines });
}

/**
 * Logs at most `limit` lines per key and window, then one summary: a peer that
 * floods bad frames must not flood the log too.
 */
export class RateLimitedLog {
  readonly #counts = new Map<string, { count: number; since: number }>();
  constructor(private readonly logger: Logger, private readonly limit = 10, private readonly windowMs = 60_000) {}

  warning(key: string, message: string, fields?: LogFields): void {
    const now = Date.now();
    let entry = this.#counts.get(key);
    if (!entry || now - entry.since > this.windowMs) {
      if (entry && entry.count > this.limit) {
        this.logger.warning(`${entry.count - this.limit} more like this were not logged`, { key });
      }
      entry = { count: 0, since: now };
      this.#counts.set(key, entry);
    }
    entry.count++;
    if (entry.count <= this.limit) this.logger.warning(message, fields);
  }
}
