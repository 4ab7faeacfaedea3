/**
 * Real child processes for multi-process tests: started with `Deno.Command`,
 * their stdout read as JSON lines (events), stopped by PID. Every process a test
 * starts is stopped by the test, whatever happens.
 */
import { textStream } from "../../actors/text_stream.ts";
import { Condition } from "./wait.ts";

export interface ProcessEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

export class TestProcess {
  readonly #child: Deno.ChildProcess;
  readonly events: ProcessEvent[] = [];
  readonly stderr: string[] = [];
  readonly #changed = new Condition();
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.#child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.exited = this.#child.status;
    this.#read(this.#child.stdout, (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ event: "text", line });
      }
    });
    this.#read(this.#child.stderr, (line) => this.stderr.push(line));
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Starts `deno run -A FILE ARGS` from the repository root. */
  static deno(label: string, file: string, args: string[]): TestProcess {
    const root = new URL("../..", import.meta.url).pathname;
    return new TestProcess(label, Deno.execPath(), ["run", "-A", file, ...args], { cwd: root });
  }

  async #read(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    let buffer = "";
    for await (const chunk of textStream(stream)) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        onLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        this.#changed.notify();
      }
    }
    if (buffer) onLine(buffer);
    this.#changed.notify();
  }

  /** Waits for an event matching `predicate` (already seen ones count). */
  waitFor(predicate: (e: ProcessEvent) => boolean, timeoutMs: number, what = "event"): Promise<ProcessEvent> {
    return this.#changed.until(
      () => this.events.find(predicate),
      timeoutMs,
      `${what} from ${this.label}`,
      () => `last events: ${JSON.stringify(this.events.slice(-3))}; stderr: ${this.stderr.slice(-5).join("\n")}`,
    );
  }

  waitForEvent(name: string, timeoutMs: number): Promise<ProcessEvent> {
    return this.waitFor((e) => e.event === name, timeoutMs, `"${name}"`);
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
