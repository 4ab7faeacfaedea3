/**
 * The job log: LAVA's records `{"dt", "lvl", "msg"}`, numbered from line 0, each
 * written at once to every sink (stderr for `deno task dispatch`, a file the
 * worker follows when run by a worker). Secrets are masked before anything leaves.
 */

export type LogLevel =
  | "debug"
  | "info"
  | "warning"
  | "error"
  | "exception"
  | "input"
  | "target"
  | "feedback"
  | "results"
  | "event";

export interface LogRecord {
  readonly line: number;
  readonly dt: string;
  readonly lvl: LogLevel;
  readonly msg: unknown;
}

export type LogSink = (record: LogRecord) => void;

/** Records longer than this (as JSON) are replaced, as LAVA does. */
const MAX_RECORD = 100_000;

export class JobLog {
  #line = 0;
  readonly #sinks: LogSink[] = [];
  readonly #secrets: string[];

  constructor(sinks: readonly LogSink[] = [], secrets: readonly string[] = [], firstLine = 0) {
    this.#sinks.push(...sinks);
    // Longest first, so a secret containing another is masked whole.
    this.#secrets = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
    this.#line = firstLine;
  }

  addSink(sink: LogSink): void {
    this.#sinks.push(sink);
  }

  /** The number the next record gets. */
  get nextLine(): number {
    return this.#line;
  }

  write(lvl: LogLevel, msg: unknown): LogRecord {
    let message = this.#mask(msg);
    if (JSON.stringify(message).length > MAX_RECORD) {
      message = typeof message === "string" ? "<line way too long ...>" : { skip: "line way too long ..." };
    }
    const record: LogRecord = { line: this.#line++, dt: new Date().toISOString(), lvl, msg: message };
    for (const sink of this.#sinks) sink(record);
    return record;
  }

  debug(msg: string): LogRecord {
    return this.write("debug", msg);
  }
  info(msg: string): LogRecord {
    return this.write("info", msg);
  }
  warning(msg: string): LogRecord {
    return this.write("warning", msg);
  }
  error(msg: string): LogRecord {
    return this.write("error", msg);
  }
  input(msg: string): LogRecord {
    return this.write("input", msg);
  }
  target(msg: string): LogRecord {
    return this.write("target", msg);
  }
  results(result: Record<string, unknown>): LogRecord {
    return this.write("results", result);
  }

  #mask(msg: unknown): unknown {
    if (this.#secrets.length === 0) return msg;
    if (typeof msg === "string") {
      let text = msg;
      for (const secret of this.#secrets) text = text.replaceAll(secret, "[MASKED]");
      return text;
    }
    if (typeof msg === "object" && msg !== null) return JSON.parse(this.#mask(JSON.stringify(msg)) as string);
    return msg;
  }
}

const encoder = new TextEncoder();

/** `deno task dispatch` writes one JSON record per line on stderr. */
export const stderrSink: LogSink = (record) => {
  Deno.stderr.writeSync(encoder.encode(JSON.stringify({ dt: record.dt, lvl: record.lvl, msg: record.msg }) + "\n"));
};

/**
 * The same records appended to a file, for a dispatch process run by a worker:
 * the file outlives a worker restart, and the new worker reads on from where the
 * old one had sent up to.
 */
export function fileSink(path: string): LogSink {
  const file = Deno.openSync(path, { append: true, create: true });
  return (record) => {
    file.writeSync(encoder.encode(JSON.stringify({ dt: record.dt, lvl: record.lvl, msg: record.msg }) + "\n"));
  };
}

/** LAVA's `output.yaml`: a YAML list, one flow mapping per line. */
export function outputYamlLine(record: LogRecord): string {
  return `- ${JSON.stringify({ dt: record.dt, lvl: record.lvl, msg: record.msg })}\n`;
}
