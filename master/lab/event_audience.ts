/**
 * The lab's events as each subscriber may see them: a job's events only to those who may see the job, a device's
 * only to those who may see the device (without the id of a job on it they may not see), workers' to everyone.
 * The ZeroMQ publisher subscribes as nobody, so it carries what an anonymous user may see; the browsers' streams
 * subscribe as their user.
 *
 * Whether a job may be seen is read from the database once per job and remembered: what decides it is fixed at
 * submission, except the device, which the job's own events carry. Device rules and group memberships are read
 * once and again when older than `rulesMaxAgeMs`. An event whose job is not known yet waits, with every event
 * after it, until the job is read: each subscriber sees events in the order they happened.
 */
import type { Kysely } from "kysely";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Database } from "../storage/schema.ts";
import type { EventHub, EventListener, LabEvent } from "./events.ts";
import { AccessRules, type JobFacts, loadJobFacts, redactJob, type Rights, type Viewer } from "./visibility.ts";

export const AUDIENCE_LIMITS = {
  /** Jobs whose visibility is remembered; the longest unused are forgotten (and read again when needed). */
  jobs: 10_000,
  /** Events waiting for their job to be read; past this the oldest are dropped, as a slow stream drops. */
  pending: 10_000,
  /** How stale device rules and group memberships may be for open streams. */
  rulesMaxAgeMs: 30_000,
} as const;

/** Something to run once the jobs and devices it names are known. */
interface Waiting {
  readonly jobs: readonly string[];
  readonly devices: readonly string[];
  run(): void;
}

interface Subscriber {
  readonly viewer: Viewer | undefined;
  readonly listener: EventListener;
}

export class EventAudience {
  readonly #hub: EventHub;
  readonly #db: Kysely<Database>;
  readonly #onError: (error: unknown) => void;
  readonly #subscribers = new Set<Subscriber>();
  /** By display id (`12`, `12.1`); null: no such job. */
  readonly #facts = new Map<string, JobFacts | null>();
  #pending: Waiting[] = [];
  #loading = false;
  #rules: AccessRules | undefined;
  #rulesAt = 0;
  #refreshing: Promise<void> | undefined;
  #unsubscribeHub: (() => void) | undefined;
  #dropped = 0;

  constructor(hub: EventHub, db: Kysely<Database>, onError: (error: unknown) => void = console.error) {
    this.#hub = hub;
    this.#db = db;
    this.#onError = onError;
  }

  /** Events dropped while waiting for their job to be read. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Subscribes `listener` to the events `viewer` (undefined: nobody) may see; returns the unsubscribe. */
  async subscribe(viewer: Viewer | undefined, listener: EventListener): Promise<() => void> {
    await this.#currentRules();
    const subscriber: Subscriber = { viewer, listener };
    this.#subscribers.add(subscriber);
    this.#unsubscribeHub ??= this.#hub.subscribe((event) => this.#arrived(event));
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) {
        this.#unsubscribeHub?.();
        this.#unsubscribeHub = undefined;
      }
    };
  }

  /**
   * Feeds `listener` the transition records `subscribe` gives, in order, each without the job it names when
   * `viewer` may not see that job.
   */
  async followTransitions(
    viewer: Viewer | undefined,
    subscribe: (listener: (record: TransitionRecord) => void) => () => void,
    listener: (record: TransitionRecord) => void,
  ): Promise<() => void> {
    await this.#currentRules();
    let open = true;
    const unsubscribe = subscribe((record) => {
      const job = (record.payload as { job?: unknown } | null)?.job;
      const key = job === undefined || job === null ? undefined : String(job);
      this.#enqueue({
        jobs: key ? [key] : [],
        devices: [],
        run: () => {
          if (!open) return;
          const rights = this.#rules!.rightsOf(viewer);
          listener(redactJob(record, () => this.#rules!.canViewJob(rights, this.#facts.get(key!) ?? undefined)));
        },
      });
    });
    return () => {
      open = false;
      unsubscribe();
    };
  }

  #arrived(event: LabEvent): void {
    const job = event.data.job;
    this.#enqueue({
      jobs: job === undefined || job === null ? [] : [String(job)],
      devices: event.kind === "device" ? [String(event.data.device)] : [],
      run: () => this.#deliver(event),
    });
  }

  #enqueue(waiting: Waiting): void {
    this.#refreshIfStale();
    if (!this.#loading && this.#pending.length === 0 && this.#known(waiting)) return this.#run(waiting);
    this.#pending.push(waiting);
    if (this.#pending.length > AUDIENCE_LIMITS.pending) {
      this.#pending.shift();
      this.#dropped++;
    }
    void this.#load();
  }

  #known(waiting: Waiting): boolean {
    return waiting.jobs.every((j) => this.#facts.has(j)) && waiting.devices.every((d) => this.#rules!.devices.has(d));
  }

  #run(waiting: Waiting): void {
    try {
      waiting.run();
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Reads what the waiting events need, then delivers them in order; repeats while more arrived meanwhile. */
  async #load(): Promise<void> {
    if (this.#loading) return;
    this.#loading = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        const jobs = [...new Set(batch.flatMap((w) => w.jobs))].filter((j) => !this.#facts.has(j));
        const devices = batch.some((w) => w.devices.some((d) => !this.#rules!.devices.has(d)));
        try {
          await Promise.all([jobs.length > 0 ? this.#readJobs(jobs) : undefined, devices ? this.#reload() : undefined]);
        } catch (error) {
          // Undecidable is hidden: the events go to administrators only.
          this.#onError(error);
          for (const job of jobs) if (!this.#facts.has(job)) this.#remember(job, null);
        }
        for (const waiting of batch) this.#run(waiting);
      }
    } finally {
      this.#loading = false;
    }
  }

  async #readJobs(keys: readonly string[]): Promise<void> {
    const ids = new Map<string, number>();
    const subIds = keys.filter((k) => !/^\d{1,9}$/.test(k));
    for (const key of keys) if (/^\d{1,9}$/.test(key)) ids.set(key, Number(key));
    if (subIds.length > 0) {
      const rows = await this.#db.selectFrom("test_jobs").select(["id", "sub_id"]).where("sub_id", "in", subIds)
        .execute();
      for (const row of rows) ids.set(row.sub_id, row.id);
    }
    const facts = await loadJobFacts(this.#db, [...new Set(ids.values())]);
    for (const key of keys) this.#remember(key, facts.get(ids.get(key) ?? -1) ?? null);
  }

  #remember(key: string, facts: JobFacts | null): void {
    this.#facts.delete(key);
    this.#facts.set(key, facts);
    if (this.#facts.size > AUDIENCE_LIMITS.jobs) this.#facts.delete(this.#facts.keys().next().value!);
  }

  #deliver(event: LabEvent): void {
    const rules = this.#rules!;
    const key = event.data.job === undefined ? undefined : String(event.data.job);
    const facts = key === undefined ? undefined : this.#facts.get(key) ?? undefined;
    // The job's events say where it is now: a public job is seen by those who may see that device.
    if (facts && event.kind === "testjob") {
      facts.device = typeof event.data.device === "string" ? event.data.device : null;
    }
    for (const subscriber of this.#subscribers) {
      const shown = this.#shown(event, rules, rules.rightsOf(subscriber.viewer), facts);
      if (!shown) continue;
      try {
        subscriber.listener(shown);
      } catch {
        this.#subscribers.delete(subscriber);
      }
    }
  }

  #shown(event: LabEvent, rules: AccessRules, rights: Rights, facts: JobFacts | undefined): LabEvent | undefined {
    switch (event.kind) {
      case "testjob":
      case "event":
        return rules.canViewJob(rights, facts) ? event : undefined;
      case "device": {
        if (!rules.canViewDevice(rights, String(event.data.device))) return undefined;
        if (event.data.job === undefined || rules.canViewJob(rights, facts)) return event;
        const { job: _hidden, ...data } = event.data;
        return { ...event, data };
      }
      default:
        return event;
    }
  }

  async #currentRules(): Promise<AccessRules> {
    if (!this.#rules) await this.#reload();
    return this.#rules!;
  }

  #refreshIfStale(): void {
    if (Date.now() - this.#rulesAt > AUDIENCE_LIMITS.rulesMaxAgeMs) this.#reload().catch(this.#onError);
  }

  #reload(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const rules = await AccessRules.load(this.#db);
        this.#rules = rules;
        this.#rulesAt = Date.now();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}
