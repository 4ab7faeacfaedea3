/**
 * The scheduler's queue: submitted jobs per device type, in LAVA's order —
 * priority first (highest), then submit time, then id. Kept sorted on insert
 * (binary search), so taking the next job for a device never sorts; removal is
 * lazy, so taking a job out of a queue of 100,000 costs nothing until the
 * holes are swept.
 */

import type { Capabilities } from "../../actors/definitions/methods.ts";

export interface QueuedJob {
  readonly id: number;
  readonly deviceType: string;
  readonly priority: number;
  /** Milliseconds since the epoch. */
  readonly submitTime: number;
  readonly tags: readonly string[];
  readonly requestedDevice?: string;
  readonly requestedWorker?: string;
  readonly submitter: number;
  /** Set for MultiNode sub-jobs: the group's id. */
  readonly group?: string;
  /** A MultiNode sub-job's role. */
  readonly role?: string;
  /**
   * A MultiNode secondary connection (a role with `connection: ssh` and no device type): the role whose device it
   * connects to. It takes no device: it runs on that device's worker, beside the host role's job.
   */
  readonly hostRole?: string;
  /** The deploy, boot and test methods the job uses; a worker must run them all. */
  readonly requires?: Capabilities;
}

function before(a: QueuedJob, b: QueuedJob): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.submitTime !== b.submitTime) return a.submitTime < b.submitTime;
  return a.id < b.id;
}

class TypeQueue {
  jobs: QueuedJob[] = [];
  holes = 0;

  insert(job: QueuedJob): void {
    let lo = 0;
    let hi = this.jobs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.jobs[mid], job)) lo = mid + 1;
      else hi = mid;
    }
    this.jobs.splice(lo, 0, job);
  }
}

export class JobQueue {
  readonly #types = new Map<string, TypeQueue>();
  readonly #byId = new Map<number, QueuedJob>();
  readonly #groups = new Map<string, Set<number>>();

  get size(): number {
    return this.#byId.size;
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  get(id: number): QueuedJob | undefined {
    return this.#byId.get(id);
  }

  add(job: QueuedJob): void {
    if (this.#byId.has(job.id)) return;
    this.#byId.set(job.id, job);
    let queue = this.#types.get(job.deviceType);
    if (!queue) this.#types.set(job.deviceType, queue = new TypeQueue());
    queue.insert(job);
    if (job.group) {
      let members = this.#groups.get(job.group);
      if (!members) this.#groups.set(job.group, members = new Set());
      members.add(job.id);
    }
  }

  /** Loads many jobs at once (a master starting with a long queue): one sort per type. */
  addMany(jobs: readonly QueuedJob[]): void {
    const touched = new Set<TypeQueue>();
    for (const job of jobs) {
      if (this.#byId.has(job.id)) continue;
      this.#byId.set(job.id, job);
      let queue = this.#types.get(job.deviceType);
      if (!queue) this.#types.set(job.deviceType, queue = new TypeQueue());
      queue.jobs.push(job);
      touched.add(queue);
      if (job.group) {
        let members = this.#groups.get(job.group);
        if (!members) this.#groups.set(job.group, members = new Set());
        members.add(job.id);
      }
    }
    for (const queue of touched) queue.jobs.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  remove(id: number): QueuedJob | undefined {
    const job = this.#byId.get(id);
    if (!job) return undefined;
    this.#byId.delete(id);
    if (job.group) {
      const members = this.#groups.get(job.group);
      members?.delete(id);
      if (members?.size === 0) this.#groups.delete(job.group);
    }
    const queue = this.#types.get(job.deviceType)!;
    queue.holes++;
    // Sweep when holes are a quarter of the queue: amortised O(1) per removal.
    if (queue.holes > 64 && queue.holes * 4 > queue.jobs.length) {
      queue.jobs = queue.jobs.filter((j) => this.#byId.get(j.id) === j);
      queue.holes = 0;
    }
    return job;
  }

  /** The queued jobs of a device type, best first. */
  *ofType(deviceType: string): Generator<QueuedJob> {
    const queue = this.#types.get(deviceType);
    if (!queue) return;
    for (const job of queue.jobs) if (this.#byId.get(job.id) === job) yield job;
  }

  /** The device types with queued jobs. */
  types(): string[] {
    return [...this.#types.entries()].filter(([, q]) => q.jobs.length > q.holes).map(([t]) => t);
  }

  /** The queued members of a MultiNode group. */
  group(group: string): QueuedJob[] {
    return [...(this.#groups.get(group) ?? [])].map((id) => this.#byId.get(id)!);
  }
}
