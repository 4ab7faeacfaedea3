/**
 * Who follows a running job's log (the web UI's live log, `lavacli jobs logs
 * --follow`): new lines as the worker's messages are stored, and the job's end.
 */
import type { JobLogLine } from "../../actors/lab/protocol.ts";

export type LogListener = (lines: readonly (JobLogLine & { line: number })[]) => void;

/** How a followed job ended. */
export interface LogEnd {
  readonly state: "Finished";
  readonly health: string;
}

export class LogFollowers {
  readonly #lines = new Map<number, Set<LogListener>>();
  readonly #ends = new Map<number, Set<(end: LogEnd) => void>>();

  /** Calls `listener` with new lines of job `id` and `onEnd` when it ends; returns the unsubscribe function. */
  follow(id: number, listener: LogListener, onEnd: (end: LogEnd) => void): () => void {
    let lines = this.#lines.get(id);
    if (!lines) this.#lines.set(id, lines = new Set());
    lines.add(listener);
    let ends = this.#ends.get(id);
    if (!ends) this.#ends.set(id, ends = new Set());
    ends.add(onEnd);
    return () => {
      lines.delete(listener);
      ends.delete(onEnd);
    };
  }

  lines(id: number, lines: readonly (JobLogLine & { line: number })[]): void {
    for (const listener of this.#lines.get(id) ?? []) listener(lines);
  }

  ended(id: number, health: string): void {
    for (const listener of this.#ends.get(id) ?? []) listener({ state: "Finished", health });
    this.#ends.delete(id);
    this.#lines.delete(id);
  }
}
