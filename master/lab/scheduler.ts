/**
 * The scheduler's decisions, in memory and without I/O, so a decision costs
 * microseconds whatever the queue's length: which queued job a free device
 * takes, following LAVA's rules (device type, tags a subset of the device's,
 * requested device and worker, who may submit to the device, worker job
 * limits), and whole MultiNode groups at once.
 *
 * Unlike LAVA, a MultiNode group never holds a device while it waits: its
 * sub-jobs are placed only when a free device is there for every one of them,
 * all in the same decision. A group that cannot be complete leaves every device
 * to other jobs.
 *
 * Which devices are free, and how many each worker runs, is derived from one
 * source: the device actors' state and health ({@link Scheduler.deviceChanged},
 * fed by their transitions), plus the claims this scheduler holds on devices it
 * has assigned but whose actors are not Reserved yet.
 */
import type { DeviceHealthName, DeviceStateName } from "../../actors/machines/device.ts";
import { type Capabilities, missingMethods } from "../../actors/definitions/methods.ts";
import { JobQueue, type QueuedJob } from "./queue.ts";

/** Healths in which an Idle device takes a queued job. */
const FREE_HEALTHS: ReadonlySet<DeviceHealthName> = new Set(["Good", "Unknown"]);

export interface SchedulerDevice {
  readonly hostname: string;
  readonly deviceType: string;
  readonly worker: string | null;
  readonly tags: ReadonlySet<string>;
}

/** Whether a user's jobs may run on a device (LAVA's submit permission). */
export type SubmitRule = (submitter: number, hostname: string) => boolean;

export interface SchedulerWorker {
  readonly hostname: string;
  /** Online and Active. */
  readonly schedulable: boolean;
  /** 0: no limit. */
  readonly jobLimit: number;
  /** The methods its dispatcher runs; unknown (anything goes) for a worker that never said. */
  readonly capabilities?: Capabilities;
}

export interface Assignment {
  readonly job: QueuedJob;
  /** The device the job runs on; for a secondary connection, the device of its host role (not its own). */
  readonly device: string;
  readonly worker: string;
  /** A secondary connection: it neither claims nor reserves `device`. */
  readonly connection?: true;
}

interface DeviceStatus {
  state: DeviceStateName;
  health: DeviceHealthName;
  /** Assigned by a decision whose job has not reserved the device yet. */
  claimed: boolean;
}

export class Scheduler {
  readonly queue = new JobQueue();
  readonly #devices = new Map<string, SchedulerDevice>();
  readonly #status = new Map<string, DeviceStatus>();
  readonly #workers = new Map<string, SchedulerWorker>();
  /** Devices that may take a job now (Idle, healthy enough, unclaimed), by device type. */
  readonly #free = new Map<string, Set<string>>();
  /** Devices per worker that are Reserved, Running or claimed, for job limits. */
  readonly #busy = new Map<string, number>();
  #mayRun: SubmitRule = () => true;

  constructor(private readonly random: () => number = Math.random) {}

  /** A device's static facts: type, worker, tags. */
  setDevice(device: SchedulerDevice): void {
    const old = this.#devices.get(device.hostname);
    const status = this.#status.get(device.hostname);
    if (old && status) this.#count(old, status, -1);
    this.#devices.set(device.hostname, device);
    if (status) this.#count(device, status, +1);
  }

  removeDevice(hostname: string): void {
    const device = this.#devices.get(hostname);
    const status = this.#status.get(hostname);
    if (device && status) this.#count(device, status, -1);
    this.#devices.delete(hostname);
    this.#status.delete(hostname);
  }

  /** A device actor's state and health after a transition. Reserving the device ends the claim on it. */
  deviceChanged(hostname: string, state: DeviceStateName, health: DeviceHealthName): void {
    this.#update(hostname, (s) => {
      s.state = state;
      s.health = health;
      if (state !== "Idle") s.claimed = false;
    });
  }

  /** Holds a device for a job being started (a health check, or a decision's assignment). */
  claim(hostname: string): void {
    this.#update(hostname, (s) => void (s.claimed = true));
  }

  /** Gives back a device whose job did not start. */
  unclaim(hostname: string): void {
    this.#update(hostname, (s) => void (s.claimed = false));
  }

  /** The device's status as this scheduler sees it. */
  status(hostname: string): Readonly<DeviceStatus> | undefined {
    return this.#status.get(hostname);
  }

  #update(hostname: string, change: (status: DeviceStatus) => void): void {
    const device = this.#devices.get(hostname);
    let status = this.#status.get(hostname);
    if (device && status) this.#count(device, status, -1);
    if (!status) this.#status.set(hostname, status = { state: "Idle", health: "Unknown", claimed: false });
    change(status);
    if (device) this.#count(device, status, +1);
  }

  /** Adds (+1) or removes (-1) a device's status from the free sets and the workers' busy counts. */
  #count(device: SchedulerDevice, status: DeviceStatus, sign: 1 | -1): void {
    const free = status.state === "Idle" && !status.claimed && FREE_HEALTHS.has(status.health);
    if (free) {
      let set = this.#free.get(device.deviceType);
      if (!set) this.#free.set(device.deviceType, set = new Set());
      if (sign > 0) set.add(device.hostname);
      else set.delete(device.hostname);
    }
    if (device.worker && (status.state !== "Idle" || status.claimed)) {
      this.#busy.set(device.worker, Math.max(0, (this.#busy.get(device.worker) ?? 0) + sign));
    }
  }

  setWorker(worker: SchedulerWorker): void {
    this.#workers.set(worker.hostname, worker);
  }

  /** Who may run jobs on which device; anyone anywhere until set. */
  setSubmitRule(rule: SubmitRule): void {
    this.#mayRun = rule;
  }

  isFree(hostname: string): boolean {
    const device = this.#devices.get(hostname);
    return device !== undefined && (this.#free.get(device.deviceType)?.has(hostname) ?? false);
  }

  /** How many of the worker's devices are Reserved, Running or claimed. */
  busy(worker: string): number {
    return this.#busy.get(worker) ?? 0;
  }

  /** Whether the worker is Online and Active with room under its job limit for one more job. */
  workerHasRoom(worker: string | null): boolean {
    return this.#workerAllows({ worker });
  }

  /** Whether the device's worker lets it take a job now. */
  #workerAllows(device: Pick<SchedulerDevice, "worker">, extraBusy = 0): boolean {
    if (!device.worker) return false;
    const worker = this.#workers.get(device.worker);
    if (!worker?.schedulable) return false;
    return worker.jobLimit === 0 || this.busy(device.worker) + extraBusy < worker.jobLimit;
  }

  /** Whether the worker's dispatcher runs every method the job uses (a worker that never said is trusted). */
  workerRuns(worker: string | null, job: Pick<QueuedJob, "requires">): boolean {
    const capabilities = worker ? this.#workers.get(worker)?.capabilities : undefined;
    return !job.requires || !capabilities || missingMethods(job.requires, capabilities).length === 0;
  }

  /** Whether `job` may run on `device`, LAVA's rules and the worker's methods, without the device's state. */
  fits(job: QueuedJob, device: SchedulerDevice): boolean {
    if (job.deviceType !== device.deviceType) return false;
    if (job.requestedDevice && job.requestedDevice !== device.hostname) return false;
    if (job.requestedWorker && job.requestedWorker !== device.worker) return false;
    for (const tag of job.tags) if (!device.tags.has(tag)) return false;
    if (!this.workerRuns(device.worker, job)) return false;
    return this.#mayRun(job.submitter, device.hostname);
  }

  /**
   * Assigns jobs to free devices: `candidates` (e.g. the one device that just
   * became free), or every free device. Devices are tried in random order, as
   * LAVA does, to spread wear. Returns what to start, its devices claimed; the
   * caller reserves them (or gives them back with {@link unclaim}).
   */
  decide(candidates?: Iterable<string>): Assignment[] {
    const list = candidates
      ? [...new Set(candidates)].filter((h) => this.isFree(h))
      : [...this.#free.values()].flatMap((s) => [...s]);
    shuffle(list, this.random);
    const assignments: Assignment[] = [];
    for (const hostname of list) {
      if (!this.isFree(hostname)) continue; // taken by a group placed in this pass
      const device = this.#devices.get(hostname)!;
      if (!this.#workerAllows(device)) continue;
      for (const job of this.queue.ofType(device.deviceType)) {
        if (!this.fits(job, device)) continue;
        if (job.group) {
          const placed = this.#placeGroup(job, device);
          if (!placed) continue;
          for (const a of placed) this.#take(a);
          assignments.push(...placed);
        } else {
          const a = { job, device: hostname, worker: device.worker! };
          this.#take(a);
          assignments.push(a);
        }
        break;
      }
    }
    return assignments;
  }

  #take(a: Assignment): void {
    this.queue.remove(a.job.id);
    if (!a.connection) this.claim(a.device);
  }

  /** A free device for every queued sub-job of `first`'s group, `first` on `device`; or nothing. */
  #placeGroup(first: QueuedJob, device: SchedulerDevice): Assignment[] | undefined {
    const members = this.queue.group(first.group!);
    const used = new Set<string>([device.hostname]);
    const extra = new Map<string, number>([[device.worker!, 1]]);
    const placed: Assignment[] = [{ job: first, device: device.hostname, worker: device.worker! }];
    // Most constrained first, so a tagged role is not starved by an untagged one.
    const rest = members.filter((m) => m.id !== first.id && !m.hostRole).sort((a, b) => b.tags.length - a.tags.length);
    for (const job of rest) {
      let found: SchedulerDevice | undefined;
      for (const hostname of this.#free.get(job.deviceType) ?? []) {
        if (used.has(hostname)) continue;
        const candidate = this.#devices.get(hostname)!;
        if (!this.fits(job, candidate) || !this.#workerAllows(candidate, extra.get(candidate.worker!) ?? 0)) continue;
        found = candidate;
        break;
      }
      if (!found) return undefined;
      used.add(found.hostname);
      extra.set(found.worker!, (extra.get(found.worker!) ?? 0) + 1);
      placed.push({ job, device: found.hostname, worker: found.worker! });
    }
    // Secondary connections go where their host role's device is (LAVA requires that role to have one device).
    for (const job of members.filter((m) => m.hostRole)) {
      const host = placed.find((a) => !a.connection && a.job.role === job.hostRole);
      if (!host || !this.workerRuns(host.worker, job)) return undefined;
      placed.push({ job, device: host.device, worker: host.worker, connection: true });
    }
    return placed;
  }

  /** Whether some device — free or not, but not retired — could ever run `job`. */
  anyDeviceFits(job: QueuedJob, usable: (hostname: string) => boolean): number {
    let count = 0;
    for (const device of this.#devices.values()) if (usable(device.hostname) && this.fits(job, device)) count++;
    return count;
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
