/**
 * Group commit. Everything a process decides while handling events (new
 * snapshots, messages to send, how far a peer's stream was handled, extra writes)
 * is staged here and written to the journal in one atomic batch; only then do the
 * callbacks that make it visible run (transmit the messages, send the
 * acknowledgements). While one batch is being written the next one fills, so a
 * burst costs one write, not one per message.
 *
 * A failed write loses nothing: the batch is folded into the next one and retried
 * with back-off, and nothing it would have acknowledged is acknowledged meanwhile.
 * So a write that can never succeed must not reach here as a failure: the master's
 * journal leaves out, alone, a write its database refuses for the values it holds
 * (master/storage/journal.ts), or one bad row would hold back everything after it.
 */
import { emptyBatch, isEmptyBatch, type Journal, type JournalBatch, mergeBatch } from "./journal.ts";

export interface CommitterOptions {
  /** Called for every failed write; the committer retries on its own. */
  readonly onError?: (error: unknown, attempt: number) => void;
  readonly maxRetryDelayMs?: number;
  /** Longest wait for lazily staged state (ms). */
  readonly lazyMs?: number;
}

export class Committer<Tx> {
  #pending: JournalBatch<Tx> = emptyBatch();
  #callbacks: (() => void)[] = [];
  #collectors: ((batch: JournalBatch<Tx>) => void)[] = [];
  #running: Promise<void> | undefined;
  #scheduled = false;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #lazyTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #commits = 0;

  constructor(readonly journal: Journal<Tx>, private readonly options: CommitterOptions = {}) {}

  /** Batches written so far. */
  get commits(): number {
    return this.#commits;
  }

  /**
   * Adds to the next batch. `afterCommit` runs once the batch holding this is
   * durable; callbacks run in the order they were staged.
   */
  stage(fill: (batch: JournalBatch<Tx>) => void, afterCommit?: () => void): void {
    if (this.#closed) throw new Error("the journal is closed");
    fill(this.#pending);
    if (afterCommit) this.#callbacks.push(afterCommit);
    this.#schedule();
  }

  /**
   * Adds to the next batch without asking for one: for state whose loss costs only
   * redundant work (dropping acknowledged messages), so it rides along with the next
   * batch that is written anyway, or with a batch of its own after `lazyMs`.
   */
  stageLazily(fill: (batch: JournalBatch<Tx>) => void): void {
    if (this.#closed) throw new Error("the journal is closed");
    fill(this.#pending);
    if (this.#lazyTimer === undefined) {
      this.#lazyTimer = setTimeout(() => {
        this.#lazyTimer = undefined;
        if (!this.#closed) this.#schedule();
      }, this.options.lazyMs ?? 100);
    }
  }

  /** Registers a function that adds last-moment state to every batch before it is written. */
  collect(collector: (batch: JournalBatch<Tx>) => void): void {
    this.#collectors.push(collector);
  }

  /** Resolves when everything staged before the call is durable. */
  flush(): Promise<void> {
    return new Promise<void>((resolve) => this.stage(() => {}, resolve));
  }

  /** Writes what is staged, then refuses more. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#lazyTimer);
  }

  #schedule(): void {
    if (this.#running || this.#scheduled || this.#retryTimer !== undefined) return;
    this.#scheduled = true;
    // Let the current turn finish staging so it lands as one batch.
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#running = this.#commitPending().finally(() => {
        this.#running = undefined;
        if (this.#callbacks.length > 0 || !isEmptyBatch(this.#pending)) this.#schedule();
      });
    });
  }

  async #commitPending(): Promise<void> {
    const batch = this.#pending;
    const callbacks = this.#callbacks;
    this.#pending = emptyBatch();
    this.#callbacks = [];
    for (const collect of this.#collectors) collect(batch);
    if (!isEmptyBatch(batch)) {
      try {
        await this.journal.commit(batch);
        this.#commits++;
        this.#failures = 0;
      } catch (error) {
        this.#failures++;
        this.options.onError?.(error, this.#failures);
        mergeBatch(this.#pending, batch);
        this.#callbacks = [...callbacks, ...this.#callbacks];
        const delay = Math.min(this.options.maxRetryDelayMs ?? 5000, 50 * 2 ** Math.min(this.#failures, 10));
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#schedule();
        }, delay);
        return;
      }
    }
    for (const callback of callbacks) callback();
  }
}
