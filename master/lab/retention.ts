/**
 * The lab's retention policy, applied in the background: finished jobs older
 * than their device type's `retention_days` (or the master's `--keep-days` for
 * types without one) are purged whole (storage/retention.ts). A run purges in
 * small transactions sized to take about {@link RETENTION_LIMITS.batchTargetMs}
 * each and yields between them, so the scheduler's writes and the workers'
 * logs wait at most one short transaction, even on the single-connection
 * embedded database.
 */
import type { Kysely } from "kysely";
import type { Logger } from "../../actors/runtime/log.ts";
import { purgeable, purgeJobs } from "../storage/retention.ts";
import type { Database } from "../storage/schema.ts";

export const RETENTION_LIMITS = {
  /** How long one purge transaction should take. */
  batchTargetMs: 20,
  maxBatch: 200,
  /** Between runs. */
  intervalMs: 3_600_000,
  /** The first run, after the master has started and settled. */
  firstRunMs: 60_000,
};

export interface RetentionOptions {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Days a finished job is kept when its device type says nothing; null: such jobs are kept for ever. */
  readonly keepDays: number | null;
  /** Called after each batch (tests and benchmarks watch the lab between batches). */
  readonly onBatch?: (ids: readonly number[], ms: number) => void;
}

export class Retention {
  readonly #o: RetentionOptions;
  readonly #log: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<number> | undefined;
  #closed = false;

  constructor(options: RetentionOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "retention" });
  }

  /** Runs the policy now and then every interval, until closed. */
  start(firstRunMs = RETENTION_LIMITS.firstRunMs): void {
    const schedule = (ms: number) => {
      this.#timer = setTimeout(() => {
        this.run().catch((error) => this.#log.error(`purging old jobs failed: ${error}`))
          .finally(() => !this.#closed && schedule(RETENTION_LIMITS.intervalMs));
      }, ms);
    };
    schedule(firstRunMs);
  }

  /** One pass of the policy (one at a time); resolves with how many jobs were purged. */
  run(): Promise<number> {
    this.#running ??= this.#purgeAll().finally(() => this.#running = undefined);
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }

  async #purgeAll(): Promise<number> {
    const started = performance.now();
    let batch = 10;
    let total = 0;
    while (!this.#closed) {
      const ids = await purgeable(this.#o.db, { retention: { defaultDays: this.#o.keepDays } }, batch);
      if (ids.length === 0) break;
      const t0 = performance.now();
      total += await purgeJobs(this.#o.db, ids);
      const ms = performance.now() - t0;
      this.#o.onBatch?.(ids, ms);
      // Size the next transaction from this one's cost per job.
      const perJob = ms / ids.length;
      batch = Math.max(1, Math.min(RETENTION_LIMITS.maxBatch, Math.floor(RETENTION_LIMITS.batchTargetMs / perJob)));
      // Let everything that queued behind this transaction run before the next.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (total > 0) {
      this.#log.info("purged old jobs", { jobs: total, seconds: ((performance.now() - started) / 1000).toFixed(1) });
    }
    return total;
  }
}
