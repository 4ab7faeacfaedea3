/**
 * Jobs waiting for a device: what the master knows of each (the row's facts),
 * the scheduler's queue (health checks are never in it: the health-check pass
 * places them), and LAVA's `timeouts.queue`, one timer per job that has one.
 */
import type { JobQueue } from "./queue.ts";
import type { SubmittedJob } from "./submission.ts";

export class WaitingJobs {
  readonly #jobs = new Map<number, SubmittedJob>();
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();

  /** `onQueueTimeout` is called for a job still waiting when its queue timeout runs out. */
  constructor(
    private readonly queue: JobQueue,
    private readonly onQueueTimeout: (job: SubmittedJob) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.queue.size;
  }

  /** Adds jobs that wait for a device; health checks are kept but not queued. */
  add(jobs: readonly SubmittedJob[]): void {
    for (const job of jobs) {
      this.#jobs.set(job.id, job);
      this.#watch(job);
    }
    this.queue.addMany(jobs.filter((j) => !j.healthCheck));
  }

  has(id: number): boolean {
    return this.#jobs.has(id);
  }

  get(id: number): SubmittedJob | undefined {
    return this.#jobs.get(id);
  }

  /** A decision took the job out of the queue but it did not start: it waits again. */
  putBack(id: number): void {
    const job = this.#jobs.get(id);
    if (job && !job.healthCheck) this.queue.add(job);
  }

  /** The job no longer waits (it started, or it ended before it could). */
  remove(id: number): SubmittedJob | undefined {
    const job = this.#jobs.get(id);
    this.#jobs.delete(id);
    this.queue.remove(id);
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    return job;
  }

  #watch(job: SubmittedJob): void {
    if (!job.queueTimeoutSeconds) return;
    const left = job.submitTime + job.queueTimeoutSeconds * 1000 - this.now();
    clearTimeout(this.#timers.get(job.id));
    this.#timers.set(
      job.id,
      setTimeout(() => {
        this.#timers.delete(job.id);
        // Taken by a decision in the meantime: it is starting, no longer waiting.
        if (this.#jobs.has(job.id) && this.queue.has(job.id)) this.onQueueTimeout(job);
      }, Math.max(0, Math.min(left, 2 ** 31 - 1))),
    );
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
