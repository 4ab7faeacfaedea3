/**
 * The master's lab, composed: job, device, worker and MultiNode group actors
 * (registry.ts), the devices and workers and the scheduler's view of them
 * (roster.ts), jobs waiting for a device (waiting_jobs.ts), placing them
 * (placement.ts, over the in-memory scheduler.ts), what workers say
 * (worker_link.ts), what follows a job's end (job_ends.ts), cancelling
 * (cancellation.ts), and the rows and events each transition implies
 * (projections.ts). This class wires them together, routes the actors'
 * transitions to them, and answers the API.
 *
 * The rules live in the machines; every change is an actor transition,
 * persisted in the journal together with the rows it implies (in the same
 * batch), and published as one of LAVA's events.
 *
 * A job's path: `submit` (submission.ts plans and stores it) → WaitingJobs →
 * Placement (a pass, the Scheduler's decision, job_start.ts's message) → the job
 * actor's `dispatch` effect sends it through the mailbox → WorkerLink takes the
 * worker's log, results and end (LavaWorkers does the same for LAVA's own workers, over HTTP) → the job machine reaches Finished → JobEnds
 * releases the device and tells the group → Projections store the row.
 */
import type { Kysely, Transaction } from "kysely";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import { type LabProtocol, labProtocol, WORKER_RUNS } from "../../actors/lab/protocol.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../actors/machines/worker.ts";
import type {
  CurveServerOptions,
  Delivery,
  DeliveryScope,
  MailboxEndpoint,
  PeerEvent,
} from "../../actors/mailbox/endpoint.ts";
import type { ActorHost } from "../../actors/process/host.ts";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { Database } from "../storage/schema.ts";
import { Cancellation } from "./cancellation.ts";
import { Catalog, type DeviceInfo, type DeviceTypeInfo } from "./catalog.ts";
import type { EventHub } from "./events.ts";
import { HealthSchedule } from "./health_schedule.ts";
import { JobEnds } from "./job_ends.ts";
import type { LabDir } from "./lab_dir.ts";
import { isEssential, loadQueue, restoreGroups, restoreJobs } from "./lab_restore.ts";
import { type LogEnd, LogFollowers, type LogListener } from "./log_followers.ts";
import { Placement } from "./placement.ts";
import { forBasaltDispatcher } from "./job_start.ts";
import { Projections } from "./projections.ts";
import { Roster } from "./roster.ts";
import { activeJobOf, ActorRegistry } from "./registry.ts";
import { Scheduler } from "./scheduler.ts";
import {
  planSubmission,
  refuseUnfitContexts,
  storeSubmission,
  type SubmittedJob,
  type Submitter,
} from "./submission.ts";
import { AccessRules } from "./visibility.ts";
import { WaitingJobs } from "./waiting_jobs.ts";
import { Webhooks } from "./webhooks.ts";
import type { SecretBox } from "../storage/secret_box.ts";
import { type CertificateOptions, LabCertificates } from "./certificates.ts";
import { workerSessionRefusal } from "./worker_admission.ts";
import { WorkerLink } from "./worker_link.ts";
import { LavaWorkers } from "./lava_workers.ts";
import { Consoles } from "./consoles.ts";

type Tx = Transaction<Database>;

/** The user health checks are submitted as, as in LAVA. */
export const HEALTH_USER = "lava-health";

export interface LabOptions {
  readonly db: Kysely<Database>;
  readonly host: ActorHost<Tx>;
  readonly labDir: LabDir;
  readonly events: EventHub;
  readonly logger: Logger;
  /** Where workers reach the master's mailbox. */
  readonly endpoint: string;
  readonly curve?: CurveServerOptions;
  readonly heartbeatMs?: number;
  /** The MultiNode coordinator, written into each sub-job's dispatcher configuration. */
  readonly coordinator?: { readonly host: string; readonly port: number };
  readonly random?: () => number;
  /** Seals users' callback tokens; without one they cannot be kept (a callback then sends the token's name). */
  readonly secrets?: SecretBox;
  /** The CurveZMQ certificates handed out through the APIs (with `--encrypt`). */
  readonly certificates?: CertificateOptions;
}

export type { LogListener };

export class Lab {
  readonly scheduler: Scheduler;
  readonly catalog: Catalog;
  readonly webhooks: Webhooks;
  /** Seals users' callback tokens; undefined when the master was given no key. */
  readonly secrets: SecretBox | undefined;
  readonly certificates: LabCertificates;
  /** LAVA's own workers, over LAVA's HTTP worker API (master/http/lava_worker_api.ts serves it). */
  readonly lavaWorkers: LavaWorkers;
  readonly mailbox!: MailboxEndpoint<LabProtocol, Tx>;
  /** The live consoles of running reservations. */
  readonly consoles: Consoles;
  readonly #o: LabOptions;
  readonly #log: Logger;
  readonly #registry: ActorRegistry;
  readonly #waiting: WaitingJobs;
  readonly #healthSchedule: HealthSchedule;
  readonly #projections: Projections;
  readonly #placement: Placement;
  readonly #cancellation: Cancellation;
  readonly #followers = new LogFollowers();
  readonly #link: WorkerLink;
  readonly #jobEnds: JobEnds;
  readonly #roster: Roster;
  #healthUser = 0;
  #access = new AccessRules(new Map(), new Map(), new Map());
  #accessLoads = 0;
  #accessApplied = 0;

  private constructor(options: LabOptions, catalog: Catalog) {
    const { db, host, logger } = options;
    this.#o = options;
    this.#log = logger.with({ component: "lab" });
    this.catalog = catalog;
    this.scheduler = new Scheduler(options.random);
    this.secrets = options.secrets;
    this.certificates = new LabCertificates(options.certificates);
    this.webhooks = new Webhooks(db, logger, options.secrets);
    this.#registry = new ActorRegistry(host.supervisor, {
      sendJob: (context, start) => {
        if (this.lavaWorkers.isLava(context.worker)) this.lavaWorkers.dispatch(context, start);
        else this.mailbox.send(context.worker!, WORKER_RUNS, "job.start", forBasaltDispatcher(start));
      },
      sendCancel: (context) => {
        if (this.lavaWorkers.isLava(context.worker)) this.lavaWorkers.cancel(context);
        else if (context.worker) this.mailbox.send(context.worker, WORKER_RUNS, "job.cancel", { job: context.id });
      },
      cancelMembers: (context) => {
        for (const member of context.members) {
          if (!context.ended.includes(member.id)) this.#cancellation.cancelOne(Number(member.id));
        }
      },
    });
    this.#waiting = new WaitingJobs(this.scheduler.queue, (job) => this.#queueTimedOut(job));
    this.#healthSchedule = new HealthSchedule((hostname) => this.#placement.request([hostname]));
    this.#projections = new Projections(this.#registry, catalog, options.events, host.committer);
    this.#cancellation = new Cancellation(db, this.#registry, this.#waiting, logger);
    this.#placement = new Placement({
      db,
      registry: this.#registry,
      scheduler: this.scheduler,
      waiting: this.#waiting,
      catalog,
      labDir: options.labDir,
      healthSchedule: this.#healthSchedule,
      projections: this.#projections,
      healthUser: () => ({ id: this.#healthUser, username: HEALTH_USER }),
      coordinator: options.coordinator,
      logger,
    });
    this.#roster = new Roster({
      host,
      registry: this.#registry,
      scheduler: this.scheduler,
      catalog,
      placement: this.#placement,
      cancellation: this.#cancellation,
    });
    this.#link = new WorkerLink({
      registry: this.#registry,
      catalog,
      events: options.events,
      committer: host.committer,
      followers: this.#followers,
      registerWorker: (hostname) => this.#roster.registerWorker(hostname),
      logger,
    });
    this.lavaWorkers = new LavaWorkers({
      db,
      registry: this.#registry,
      catalog,
      link: this.#link,
      committer: host.committer,
      registerWorker: (hostname) => this.#roster.registerWorker(hostname),
      logger,
    });
    this.consoles = new Consoles({
      registry: this.#registry,
      sendDown: (worker, job, frame) =>
        this.mailbox?.sendTransient(worker, WORKER_RUNS, "console.down", { job, frame }) ?? false,
      mayUse: (userId, device) => this.#access.canSubmitToDevice(this.#access.rightsOfId(userId), device),
      isAdministrator: (userId) => this.#access.rightsOfId(userId).superuser,
      // The job may have ended meanwhile (409): nothing to end, and never an unhandled rejection.
      end: (job, reason) =>
        void this.cancel(job, reason).catch((error) =>
          this.#log.info("a reservation could not be ended; it had ended already", { job, error: String(error) })
        ),
      logger,
    });
    this.#jobEnds = new JobEnds({
      db,
      registry: this.#registry,
      catalog,
      waiting: this.#waiting,
      placement: this.#placement,
      healthSchedule: this.#healthSchedule,
      followers: this.#followers,
      webhooks: this.webhooks,
      committer: host.committer,
    });
  }

  static async open(options: LabOptions): Promise<Lab> {
    const catalog = await Catalog.load(options.db);
    const lab = new Lab(options, catalog);
    await lab.#start();
    return lab;
  }

  get db(): Kysely<Database> {
    return this.#o.db;
  }

  get host(): ActorHost<Tx> {
    return this.#o.host;
  }

  get labDir(): LabDir {
    return this.#o.labDir;
  }

  get events(): EventHub {
    return this.#o.events;
  }

  /** Who may see, submit to and change what, as the database says now (every user's groups). */
  get access(): AccessRules {
    return this.#access;
  }

  /**
   * Reads the permissions again after a change to users, groups, grants or devices; jobs that a new grant lets run
   * are placed.
   */
  async reloadAccess(): Promise<void> {
    // Loads may overlap: one started later has read later rows, so an earlier one finishing after it is dropped.
    const generation = ++this.#accessLoads;
    const rules = await AccessRules.load(this.#o.db);
    if (generation < this.#accessApplied) return;
    this.#accessApplied = generation;
    this.#access = rules;
    this.consoles.accessChanged();
    if (this.mailbox) this.#placement.request("all");
  }

  // --- start-up ---------------------------------------------------------------

  async #start(): Promise<void> {
    const { db, host } = this.#o;
    await db.insertInto("users").values({ username: HEALTH_USER }).onConflict((oc) => oc.doNothing()).execute();
    this.#healthUser = (await db.selectFrom("users").select("id").where("username", "=", HEALTH_USER)
      .executeTakeFirstOrThrow()).id;
    this.catalog.usernames.set(this.#healthUser, HEALTH_USER);
    await this.reloadAccess();
    this.scheduler.setSubmitRule((user, hostname) =>
      user === this.#healthUser || this.#access.canSubmitToDevice(this.#access.rightsOfId(user), hostname)
    );
    // From here on, every transition lands with its row and moves the scheduler's view.
    host.transitions.subscribe((record) => this.#react(record));
    await this.#healthSchedule.load(db);
    this.#roster.start();
    await restoreJobs(db, host, this.#registry);
    const queue = await loadQueue(db);
    this.#waiting.add(queue.filter((j) => !j.healthCheck));
    // Health checks are placed by the health-check pass, never from the queue.
    for (const job of queue.filter((j) => j.healthCheck)) {
      this.#log.info("a health check left queued by a previous master is cancelled; a new one will run", {
        job: job.id,
      });
      this.#registry.spawnJob(activeJobOf(job)).send({ type: "cancel" });
    }
    const groups = new Set<string>();
    for (const id of this.#registry.jobIds()) {
      if (this.#registry.facts(id)?.group) groups.add(this.#registry.facts(id)!.group!);
    }
    for (const job of queue) if (job.group) groups.add(job.group);
    await restoreGroups(db, host, this.#registry, groups);
    // A job journaled as Finished whose end was not yet followed through (the master stopped in between).
    for (const id of this.#registry.jobIds()) {
      if (this.#registry.jobSnapshot(id)?.state === "Finished") this.#jobEnds.finished(id);
    }
    (this as { mailbox: MailboxEndpoint<LabProtocol, Tx> }).mailbox = await host.mailbox({
      protocol: labProtocol,
      mode: { kind: "listen", endpoint: this.#o.endpoint, curve: this.#o.curve },
      heartbeatMs: this.#o.heartbeatMs,
      accepts: (to) => to.startsWith("job/"),
      sessionRefusal: (peer, authenticated) => workerSessionRefusal(this.catalog, peer, authenticated),
      onPeer: (event) => this.peerEvent(event),
      onMessage: (delivery, scope) => this.deliver(delivery, scope),
      onTransient: (delivery) => {
        if (delivery.kind === "console.up") {
          this.consoles.up(delivery.peer, Number(delivery.body.job), delivery.body.frame);
        }
      },
    });
    await this.webhooks.start();
    this.#placement.request("all");
  }

  // --- reactions to transitions -------------------------------------------------

  #react(record: TransitionRecord): void {
    this.#projections.project(record);
    const id = record.actorId;
    switch (record.actorKind) {
      case "device":
        return this.#roster.deviceChanged(id);
      case "worker":
        return this.#roster.workerChanged(id);
      case "job":
        // After the transition that caused it has finished: these send events to other actors.
        if (record.stateAfter === "Finished") {
          this.lavaWorkers.jobEnded(Number(id));
          this.consoles.ended(Number(id));
          queueMicrotask(() => this.#jobEnds.finished(Number(id)));
        } else if (record.stateAfter === "Running" && record.stateBefore !== "Running") {
          void this.webhooks.jobChanged(Number(id), JobState.byName.Running, JobHealth.byName.Unknown);
        } else if (record.eventType === "refused") queueMicrotask(() => void this.#jobEnds.refused(Number(id)));
        return;
      case "group":
        if (record.stateAfter === "Ended") queueMicrotask(() => this.#registry.removeGroup(id));
    }
  }

  #queueTimedOut(job: SubmittedJob): void {
    this.#log.info("a job waited longer than its queue timeout; it is cancelled", { job: job.id });
    if (job.group) this.#cancellation.cancelGroup(job.group, "queue timeout");
    else this.#cancellation.cancelOne(job.id);
  }

  // --- what workers say ---------------------------------------------------------

  /** A worker's message, as the mailbox hands it over (benchmarks call it directly). */
  deliver(delivery: Delivery<LabProtocol>, scope: DeliveryScope<Tx>): void {
    this.#link.deliver(delivery, scope);
  }

  /** A worker's session opened, closed or restarted without its journal. */
  peerEvent(event: PeerEvent): void {
    this.#link.peerEvent(event);
  }

  // --- requests (API) -----------------------------------------------------------

  async submit(text: string, submitter: Submitter): Promise<SubmittedJob[]> {
    // Users may have been added since the master started.
    this.catalog.usernames.set(submitter.id, submitter.username);
    const rights = this.#access.rightsOf({ id: submitter.id, is_superuser: submitter.is_superuser ?? false });
    const permits = {
      username: submitter.username,
      viewType: (name: string) => this.#access.canViewDeviceType(rights, name),
      submitTo: (hostname: string) => this.#access.canSubmitToDevice(rights, hostname),
    };
    const planned = planSubmission(
      this.catalog,
      text,
      { permits },
      (worker) => this.#registry.workerSnapshot(worker)?.context.capabilities,
    );
    refuseUnfitContexts(this.catalog, planned, (device, context) => this.#o.labDir.render(device, context));
    const jobs = await storeSubmission(this.#o.db, planned, text, submitter);
    const group = jobs[0]?.group;
    if (group) {
      const members = jobs.map((j, i) => ({ id: String(j.id), essential: isEssential(planned[i].definition) }));
      this.#registry.spawnGroup(group, members, []);
    }
    for (const job of jobs) this.#projections.publishJob(activeJobOf(job), "Submitted", "Unknown");
    this.#waiting.add(jobs);
    const types = new Set(jobs.map((j) => j.deviceType));
    this.#placement.request(
      [...this.catalog.devices.values()].filter((d) => types.has(d.deviceType)).map((d) => d.hostname),
    );
    return jobs;
  }

  /** Cancels a job (a MultiNode job as a whole group, as LAVA does). */
  cancel(id: number, reason = "cancelled"): Promise<void> {
    return this.#cancellation.cancel(id, reason);
  }

  /** Ends a job Incomplete at once (an admin's force-fail); admin/jobs.ts checks and records it. */
  forceFail(id: number, message: string): void {
    this.#cancellation.fail(id, message);
  }

  setDeviceHealth(hostname: string, health: DeviceHealthName, reason: string): void {
    this.#roster.setDeviceHealth(hostname, health, reason);
  }

  /** Sets a worker's health; retiring it retires its devices, and its return to service re-checks them. */
  setWorkerHealth(hostname: string, health: WorkerHealthName): void {
    this.#roster.setWorkerHealth(hostname, health);
  }

  /** Adds a device created through the API to the running lab. */
  deviceAdded(info: DeviceInfo): void {
    this.#roster.deviceAdded(info);
  }

  workerAdded(hostname: string): void {
    this.#roster.workerAdded(hostname);
  }

  /** Takes a worker out of the lab (admin/workers.ts checked it has no devices left and is not online). */
  workerRemoved(hostname: string): void {
    this.#roster.workerRemoved(hostname);
  }

  /** A device type's changed settings: its devices may now be due (or no longer due) a health check. */
  deviceTypeChanged(info: DeviceTypeInfo): void {
    this.catalog.deviceTypes.set(info.name, info);
    this.#placement.request(this.catalog.devicesOf({ deviceType: info.name }).map((d) => d.hostname));
  }

  // --- what the API and the web UI read ---------------------------------------------

  /** A device's state and health now. */
  deviceStatus(
    hostname: string,
  ): { state: string; health: DeviceHealthName; job?: string; reason?: string } | undefined {
    const device = this.#registry.deviceSnapshot(hostname);
    return device &&
      { state: device.state, health: device.context.health, job: device.context.job, reason: device.context.reason };
  }

  workerStatus(hostname: string): { state: string; health: WorkerHealthName; version?: string } | undefined {
    const worker = this.#registry.workerSnapshot(hostname);
    return worker && { state: worker.state, health: worker.context.health, version: worker.context.version };
  }

  /** What /metrics shows, gathered from the actors and counters in memory. */
  metrics() {
    const jobs = new Map<string, number>([["Submitted", this.#waiting.size]]);
    for (const id of this.#registry.jobIds()) {
      const state = this.#registry.jobSnapshot(id)!.state;
      jobs.set(state, (jobs.get(state) ?? 0) + 1);
    }
    const devices = new Map<string, number>();
    for (const hostname of this.#registry.deviceNames()) {
      const d = this.deviceStatus(hostname)!;
      const key = `${d.state}\u0000${d.health}`;
      devices.set(key, (devices.get(key) ?? 0) + 1);
    }
    const workers = new Map<string, number>();
    for (const hostname of this.#registry.workerNames()) {
      const w = this.workerStatus(hostname)!;
      const key = `${w.state}\u0000${w.health}`;
      workers.set(key, (workers.get(key) ?? 0) + 1);
    }
    return {
      queued: this.#waiting.size,
      jobs,
      devices,
      workers,
      logLines: this.#link.logLines,
      passSeconds: [...this.#placement.passSeconds],
      mailbox: this.mailbox.stats(),
      events: this.#o.events.published,
    };
  }

  /** How many jobs wait in the queue and how many run, for the overview. */
  counts(): { queued: number; running: number } {
    const running = this.#registry.jobIds().filter((id) => this.#registry.jobSnapshot(id)?.state === "Running");
    return { queued: this.#waiting.size, running: running.length };
  }

  /** Whether the job's actor is running (not yet Finished). */
  isActive(id: number): boolean {
    return this.#registry.job(id) !== undefined || this.#waiting.has(id);
  }

  /** Calls `listener` with new log lines of a running job; returns the unsubscribe function. */
  followLog(id: number, listener: LogListener, onEnd: (end: LogEnd) => void): () => void {
    return this.#followers.follow(id, listener, onEnd);
  }

  /** Resolves when no scheduling pass is pending or running (tests, benchmarks). */
  settled(): Promise<void> {
    return this.#placement.settled();
  }

  async close(): Promise<void> {
    this.#healthSchedule.close();
    this.#waiting.close();
    this.lavaWorkers.close();
    await this.#placement.close();
    await this.webhooks.close();
  }
}

export { SubmissionError } from "./submission.ts";
