/**
 * Every actor's transitions in this process, as one stream: the web UI's live
 * state-machine views and the tests subscribe here, and the host writes the same
 * records to the journal as the actor's history.
 */
import type { TransitionRecord } from "./journal.ts";

export type TransitionListener = (record: TransitionRecord) => void;

export class TransitionStream {
  readonly #listeners = new Set<TransitionListener>();

  /** Returns the function that unsubscribes. */
  subscribe(listener: TransitionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(record: TransitionRecord): void {
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch {
        // A broken observer must not break the actor it observes.
      }
    }
  }
}

/** xstate's state value as one string: "Running" or "Running.Booting". */
export function stateValueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).map(([key, child]) => {
      const inner = stateValueText(child);
      return inner === "" ? key : `${key}.${inner}`;
    }).join(",");
  }
  return "";
}
