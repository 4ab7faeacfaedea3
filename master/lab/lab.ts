/**
 * The master's lab: job, device and worker actors under the host's supervisor,
 * the scheduler's queue, and the workers' mailbox. Everything that changes the
 * lab's state goes through here, and every change is an actor transition:
 * persisted in the journal together with the domain row it implies (in the same
 * batch), and published as one of LAVA's events.
 *
 * Scheduling is event-driven: a submission, a device becoming free, a worker
 * coming online or a health change each ask for a pass over the devices they
 * concern; passes are coalesced, and a pass decides in memory.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { parse as parseYaml, stringify } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import {
  DeviceHealth,
  DeviceState,
  JobHealth,
  JobState,
  WorkerHealth,
  WorkerState,
} from "../../actors/domain/states.ts";
import {
  type JobLogLine,
  type JobStart,
  type LabProtocol,
  labProtocol,
  parseWorkerSummary,
  WORKER_RUNS,
} from "../../actors/lab/protocol.ts";
import { type DeviceContext, type DeviceHealthName, deviceMachine } from "../../actors/machines/device.ts";
import { INFRASTRUCTURE_ERRORS, type JobContext, jobMachine } from "../../actors/machines/job.ts";
import { type WorkerContext, type WorkerHealthName, workerMachine } from "../../actors/machines/worker.ts";
import {
  type CurveServerOptions,
  type Delivery,
  type DeliveryScope,
  type MailboxEndpoint,
  MessageTooLargeError,
  type PeerEvent,
} from "../../actors/mailbox/endpoint.ts";
import { isProblem } from "../../actors/mailbox/protocol.ts";
import type { ActorHost } from "../../actors/runtime/host.ts";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { SupervisedActor } from "../../actors/runtime/supervisor.ts";
import { appendLogLines, boundedLogMessage } from "../storage/job_logs.ts";
import { refusable } from "../storage/journal.ts";
import { storableText } from "../storage/storable.ts";
import type { Database } from "../storage/schema.ts";
import { Catalog, type DeviceInfo } from "./catalog.ts";
import { workerSessionRefusal } from "./worker_admission.ts";
import type { EventHub } from "./events.ts";
import { DeviceConfigurationError, type LabDir } from "./lab_dir.ts";
import { recordJobOutcome, storeResults } from "./results.ts";
import { type Assignment, Scheduler } from "./scheduler.ts";
import { JobValueError } from "../devices/job_values.ts";
import {
  planSubmission,
  refuseUnfitContexts,
  storeSubmission,
  SubmissionError,
  type SubmittedJob,
  type Submitter,
} from "./submission.ts";
import { Webhooks } from "./webhooks.ts";

type Tx = Transaction<Database>;
type JobActor = SupervisedActor<typeof jobMachine>;
type DeviceActor = SupervisedActor<typeof deviceMachine>;
type WorkerActor = SupervisedActor<typeof workerMachine>;

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
}

/** What the master keeps in memory of a job that is not finished. */
export interface ActiveJob {
  readonly id: number;
  readonly displayId: string;
  readonly description: string;
  readonly deviceType: string;
  readonly priority: number;
  readonly submitTime: number;
  readonly submitter: number;
  readonly visibility: number;
  readonly healthCheck: boolean;
  readonly group?: string;
  readonly role?: string;
  /** The next log line expected from the worker. */
  nextLine: number;
  /** Why some of the job's log could not be stored: the job fails with it when it ends. */
  unstorable?: string;
}

export type LogListener = (lines: readonly (JobLogLine & { line: number })[]) => void;

/** A job id from the API does not name a job the request can act on. */
export class LabRequestError extends Error {
  constructor(message: string, readonly status: 400 | 403 | 404 | 409 = 400) {
    super(message);
    this.name = "LabRequestError";
  }
}

function contextOf<T>(actor: SupervisedActor): T {
  return (actor.getSnapshot() as unknown as { context: T }).context;
}

const FREE_HEALTHS = new Set<DeviceHealthName>(["Good", "Unknown"]);
const HEALTH_CHECK_HEALTHS = new Set<DeviceHealthName>(["Good", "Unknown", "Looping"]);

export class Lab {
  readonly scheduler: Scheduler;
  readonly catalog: Catalog;
  readonly mailbox!: MailboxEndpoint<LabProtocol, Tx>;
  readonly #o: LabOptions;
  readonly #log: Logger;
  readonly #jobs = new Map<number, JobActor>();
  readonly #active = new Map<number, ActiveJob>();
  readonly #queuedInfo = new Map<number, SubmittedJob>();
  readonly #devices = new Map<string, DeviceActor>();
  readonly #workers = new Map<string, WorkerActor>();
  readonly #busy = new Set<string>();
  readonly #prepared = new Map<number, JobStart>();
  readonly #logListeners = new Map<number, Set<LogListener>>();
  readonly #endListeners = new Map<number, Set<() => void>>();
  readonly #healthTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #queueTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Per device: the last health check's submit time, and non-health-check jobs started since. */
  readonly #healthReports = new Map<string, { submitTime: number; jobsSince: number }>();
  readonly webhooks: Webhooks;
  #healthUser = 0;
  /** For /metrics: log lines stored, and the last scheduling passes' durations (seconds). */
  #logLines = 0;
  readonly #passSeconds: number[] = [];
  #pending: Set<string> | "all" | undefined;
  #passRunning: Promise<void> | undefined;
  #closed = false;

  private constructor(options: LabOptions, catalog: Catalog) {
    this.#o = options;
    this.#log = options.logger.with({ component: "lab" });
    this.catalog = catalog;
    this.scheduler = new Scheduler(options.random);
    this.webhooks = new Webhooks(options.db, options.logger);
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

  // --- start-up ---------------------------------------------------------------

  async #start(): Promise<void> {
    const db = this.#o.db;
    await db.insertInto("users").values({ username: HEALTH_USER }).onConflict((oc) => oc.doNothing()).execute();
    this.#healthUser = (await db.selectFrom("users").select("id").where("username", "=", HEALTH_USER)
      .executeTakeFirstOrThrow()).id;
    this.catalog.usernames.set(this.#healthUser, HEALTH_USER);
    for (const [user, groups] of this.catalog.userGroups) this.scheduler.setUserGroups(user, groups);
    // Projections first: every transition from here on lands with its row.
    this.#o.host.transitions.subscribe((record) => this.#project(record));
    await this.#loadHealthReports();
    for (const worker of this.catalog.workers.values()) this.#spawnWorker(worker.hostname);
    for (const device of this.catalog.devices.values()) this.#spawnDevice(device);
    await this.#restoreJobs();
    await this.#loadQueue();
    (this as { mailbox: MailboxEndpoint<LabProtocol, Tx> }).mailbox = await this.#o.host.mailbox({
      protocol: labProtocol,
      mode: { kind: "listen", endpoint: this.#o.endpoint, curve: this.#o.curve },
      heartbeatMs: this.#o.heartbeatMs,
      accepts: (to) => to.startsWith("job/"),
      sessionRefusal: (peer, authenticated) => workerSessionRefusal(this.catalog, peer, authenticated),
      onPeer: (event) => this.peerEvent(event),
      onMessage: (delivery, scope) => this.deliver(delivery, scope),
    });
    await this.webhooks.start();
    this.#requestScheduling("all");
  }

  async #loadHealthReports(): Promise<void> {
    const rows = await sql<{ device: string; submit_time: Date; jobs_since: number }>`
      SELECT d.hostname AS device, hc.submit_time,
        (SELECT count(*)::integer FROM test_jobs j WHERE j.actual_device = d.hostname AND NOT j.health_check
           AND j.start_time > hc.submit_time) AS jobs_since
      FROM devices d JOIN test_jobs hc ON hc.id = d.last_health_report_job`.execute(this.#o.db);
    for (const r of rows.rows) {
      this.#healthReports.set(r.device, { submitTime: new Date(r.submit_time).getTime(), jobsSince: r.jobs_since });
    }
  }

  async #loadQueue(): Promise<void> {
    const rows = await this.#o.db.selectFrom("test_jobs")
      .select([
        "id",
        "sub_id",
        "description",
        "requested_device_type",
        "priority",
        "submit_time",
        "submitter_id",
        "visibility",
        "health_check",
        "requested_device",
        "requested_worker",
        "target_group",
        "queue_timeout_seconds",
      ])
      .where("state", "=", JobState.byName.Submitted)
      .execute();
    const tags = await this.#o.db.selectFrom("test_job_tags").innerJoin(
      "test_jobs",
      "test_jobs.id",
      "test_job_tags.job_id",
    )
      .select(["job_id", "tag"]).where("test_jobs.state", "=", JobState.byName.Submitted).execute();
    const tagsBy = Map.groupBy(tags, (t) => t.job_id);
    const jobs: SubmittedJob[] = rows.map((r) => ({
      id: r.id,
      displayId: r.sub_id || String(r.id),
      description: r.description,
      deviceType: r.requested_device_type ?? "",
      priority: r.priority,
      submitTime: new Date(r.submit_time).getTime(),
      tags: r.health_check ? [] : (tagsBy.get(r.id) ?? []).map((t) => t.tag),
      requestedDevice: r.requested_device ?? undefined,
      requestedWorker: r.requested_worker ?? undefined,
      submitter: r.submitter_id,
      group: r.target_group ?? undefined,
      visibility: r.visibility,
      healthCheck: r.health_check,
      ...(r.queue_timeout_seconds ? { queueTimeoutSeconds: r.queue_timeout_seconds } : {}),
    }));
    for (const job of jobs) this.#watchQueueTimeout(job);
    // Health checks are placed by the health-check pass, never from the queue.
    for (const job of jobs) this.#queuedInfo.set(job.id, job);
    this.scheduler.queue.addMany(jobs.filter((j) => !j.healthCheck));
    for (const job of jobs.filter((j) => j.healthCheck)) {
      this.#log.info("a health check left queued by a previous master is cancelled; a new one will run", {
        job: job.id,
      });
      this.#spawnJob(this.#activeFrom(job)).send({ type: "cancel" });
    }
  }

  async #restoreJobs(): Promise<void> {
    const restored = this.#o.host.restoredOfKind("job");
    if (restored.length === 0) return;
    const ids = restored.map((r) => Number(r.id));
    const rows = await this.#o.db.selectFrom("test_jobs")
      .select([
        "id",
        "sub_id",
        "description",
        "requested_device_type",
        "priority",
        "submit_time",
        "submitter_id",
        "visibility",
        "health_check",
        "target_group",
        "multinode_role",
      ])
      .where("id", "in", ids).execute();
    const counts = await sql<{ job_id: number; n: number }>`
      SELECT job_id, count(*)::integer AS n FROM job_log_lines WHERE job_id = ANY(${ids}) GROUP BY job_id`
      .execute(this.#o.db);
    const lines = new Map(counts.rows.map((c) => [c.job_id, c.n]));
    for (const row of rows) {
      const record = restored.find((r) => Number(r.id) === row.id)!;
      const active: ActiveJob = {
        id: row.id,
        displayId: row.sub_id || String(row.id),
        description: row.description,
        deviceType: row.requested_device_type ?? "",
        priority: row.priority,
        submitTime: new Date(row.submit_time).getTime(),
        submitter: row.submitter_id,
        visibility: row.visibility,
        healthCheck: row.health_check,
        group: row.target_group ?? undefined,
        role: row.multinode_role ?? undefined,
        nextLine: lines.get(row.id) ?? 0,
      };
      const actor = this.#spawnJob(active, { snapshot: record.snapshot, sequence: record.sequence });
      const context = contextOf<JobContext>(actor);
      if (context.device && context.worker) this.#busy.add(context.device);
    }
  }

  // --- actors -------------------------------------------------------------------

  #spawnWorker(hostname: string): WorkerActor {
    const info = this.catalog.workers.get(hostname)!;
    const restore = this.#o.host.restored("worker", hostname);
    const actor = this.#o.host.supervisor.spawn({
      kind: "worker",
      id: hostname,
      logic: workerMachine.provide({
        actions: { available: ({ context }) => queueMicrotask(() => this.#workerChanged(context.hostname)) },
      }),
      input: { hostname, health: WorkerHealth.name(info.storedHealth) },
      restore,
    });
    this.#workers.set(hostname, actor);
    // A new master has no sessions: a worker is Online again when it says hello.
    if ((actor.getSnapshot() as { value?: unknown }).value === "Online") actor.send({ type: "offline" });
    this.#workerChanged(hostname);
    return actor;
  }

  #spawnDevice(info: DeviceInfo): DeviceActor {
    const restore = this.#o.host.restored("device", info.hostname);
    const actor = this.#o.host.supervisor.spawn({
      kind: "device",
      id: info.hostname,
      logic: deviceMachine.provide({
        actions: { available: ({ context }) => queueMicrotask(() => this.#deviceChanged(context.hostname)) },
      }),
      input: { hostname: info.hostname, health: DeviceHealth.name(info.storedHealth) },
      restore,
    });
    this.#devices.set(info.hostname, actor);
    this.scheduler.setDevice({
      hostname: info.hostname,
      deviceType: info.deviceType,
      worker: info.worker,
      tags: new Set(info.tags),
      submitGroups: info.submitGroups,
    });
    const context = contextOf<DeviceContext>(actor);
    const stored = DeviceHealth.name(info.storedHealth);
    // An admin's change made in the database while the master was stopped wins.
    if (restore && context.health !== stored) {
      actor.send({ type: "health", health: stored, reason: "changed in the database while the master was stopped" });
    }
    if ((actor.getSnapshot() as { value?: unknown }).value !== "Idle") this.#busy.add(info.hostname);
    this.#deviceChanged(info.hostname);
    return actor;
  }

  #activeFrom(job: SubmittedJob, role?: string): ActiveJob {
    return {
      id: job.id,
      displayId: job.displayId,
      description: job.description,
      deviceType: job.deviceType,
      priority: job.priority,
      submitTime: job.submitTime,
      submitter: job.submitter,
      visibility: job.visibility,
      healthCheck: job.healthCheck,
      group: job.group,
      role,
      nextLine: 0,
    };
  }

  #spawnJob(active: ActiveJob, restore?: { snapshot: unknown; sequence: number }): JobActor {
    this.#active.set(active.id, active);
    const actor = this.#o.host.supervisor.spawn({
      kind: "job",
      id: String(active.id),
      logic: jobMachine.provide({
        actions: {
          dispatch: ({ context }) => this.#dispatch(context),
          sendCancel: ({ context }) => {
            if (context.worker) {
              this.mailbox.send(context.worker, WORKER_RUNS, "job.cancel", { job: context.id });
            }
          },
          ended: ({ context }) => queueMicrotask(() => this.#jobEnded(context)),
          requeue: ({ context }) => queueMicrotask(() => this.#requeue(context)),
        },
      }),
      input: { id: String(active.id), healthCheck: active.healthCheck },
      restore,
    });
    this.#jobs.set(active.id, actor);
    return actor;
  }

  #jobActor(id: number): JobActor | undefined {
    const actor = this.#jobs.get(id);
    if (!actor) this.#log.warning("a message for a job that is not running here; dropped", { job: id });
    return actor;
  }

  #deviceContext(hostname: string): { state: string; context: DeviceContext } | undefined {
    const actor = this.#devices.get(hostname);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot() as unknown as { value: string; context: DeviceContext };
    return { state: snapshot.value, context: snapshot.context };
  }

  #workerSchedulable(hostname: string | null): boolean {
    if (!hostname) return false;
    const actor = this.#workers.get(hostname);
    if (!actor) return false;
    const snapshot = actor.getSnapshot() as unknown as { value: string; context: WorkerContext };
    return snapshot.value === "Online" && snapshot.context.health === "Active";
  }

  #workerChanged(hostname: string): void {
    const actor = this.#workers.get(hostname);
    if (!actor) return;
    const snapshot = actor.getSnapshot() as unknown as { value: string; context: WorkerContext };
    const info = this.catalog.workers.get(hostname);
    const limits = [info?.jobLimit ?? 0, snapshot.context.reportedJobLimit].filter((l) => l > 0);
    this.scheduler.setWorker({
      hostname,
      schedulable: this.#workerSchedulable(hostname),
      jobLimit: limits.length ? Math.min(...limits) : 0,
    });
    if (this.#workerSchedulable(hostname)) {
      this.#requestScheduling(this.catalog.devicesOf({ worker: hostname }).map((d) => d.hostname));
    }
  }

  #deviceChanged(hostname: string): void {
    const device = this.#deviceContext(hostname);
    const info = this.catalog.devices.get(hostname);
    if (!device || !info) return;
    if (device.state === "Idle" && this.#busy.delete(hostname)) this.scheduler.adjustBusy(info.worker, -1);
    this.scheduler.setFree(hostname, device.state === "Idle" && FREE_HEALTHS.has(device.context.health));
    if (device.state === "Idle") this.#requestScheduling([hostname]);
  }

  // --- scheduling -------------------------------------------------------------

  #requestScheduling(devices: Iterable<string> | "all"): void {
    if (this.#closed) return;
    if (devices === "all" || this.#pending === "all") this.#pending = "all";
    else {
      this.#pending ??= new Set();
      for (const d of devices) (this.#pending as Set<string>).add(d);
    }
    if (!this.#passRunning) {
      this.#passRunning = (async () => {
        while (this.#pending !== undefined && !this.#closed) {
          const candidates = this.#pending;
          this.#pending = undefined;
          try {
            await this.#schedulingPass(candidates);
          } catch (error) {
            this.#log.error("a scheduling pass failed", { error });
          }
        }
        this.#passRunning = undefined;
      })();
    }
  }

  /** Resolves when no scheduling pass is pending or running (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.#passRunning) await this.#passRunning;
  }

  async #schedulingPass(candidates: Set<string> | "all"): Promise<void> {
    const started = performance.now();
    const devices = candidates === "all" ? [...this.#devices.keys()] : [...candidates];
    await this.#healthChecks(devices);
    const assignments = this.scheduler.decide(candidates === "all" ? undefined : devices);
    if (assignments.length > 0) await this.#launch(assignments);
    this.#passSeconds.push((performance.now() - started) / 1000);
    if (this.#passSeconds.length > 1000) this.#passSeconds.splice(0, this.#passSeconds.length - 1000);
  }

  /** LAVA's step 2: devices that need a health check get one before any other job. */
  async #healthChecks(hostnames: readonly string[]): Promise<void> {
    for (const hostname of hostnames) {
      const device = this.#deviceContext(hostname);
      const info = this.catalog.devices.get(hostname);
      if (!device || !info || device.state !== "Idle" || !HEALTH_CHECK_HEALTHS.has(device.context.health)) continue;
      if (!this.#workerSchedulable(info.worker) || this.#busy.has(hostname)) continue;
      const type = this.catalog.deviceTypes.get(info.deviceType);
      if (!type || type.disableHealthCheck) continue;
      const dictionary = info.dictionary ?? this.#o.labDir.dictionaryFile(hostname);
      const definition = this.#o.labDir.healthCheck(info.deviceType, dictionary);
      if (definition === undefined) continue;
      if (!this.#healthCheckDue(hostname, device.context.health, type)) continue;
      const worker = info.worker!;
      const limit = this.scheduler;
      const workerLimit = [this.catalog.workers.get(worker)?.jobLimit ?? 0].filter((l) => l > 0)[0] ?? 0;
      if (workerLimit > 0 && limit.busy(worker) >= workerLimit) continue;
      // Taken now, so no other job gets it while the health check is stored.
      this.scheduler.setFree(hostname, false);
      this.#busy.add(hostname);
      this.scheduler.adjustBusy(worker, 1);
      let job: SubmittedJob;
      try {
        const planned = planSubmission(this.catalog, definition, { healthCheck: true, device: hostname });
        [job] = await storeSubmission(
          this.#o.db,
          planned,
          definition,
          { id: this.#healthUser, username: HEALTH_USER },
          {
            healthCheck: true,
            device: hostname,
          },
        );
      } catch (error) {
        this.#busy.delete(hostname);
        this.scheduler.adjustBusy(worker, -1);
        this.#devices.get(hostname)?.send({
          type: "health",
          health: "Bad",
          reason: `Invalid health check: ${error instanceof Error ? error.message : error}`,
        });
        continue;
      }
      this.#publishJob(this.#activeFrom(job), "Submitted", "Unknown");
      await this.#launch([{ job, device: hostname, worker }], [job]);
    }
  }

  #healthCheckDue(
    hostname: string,
    health: DeviceHealthName,
    type: { healthFrequency: number; healthDenominator: string },
  ) {
    if (health === "Unknown" || health === "Looping") return true;
    const report = this.#healthReports.get(hostname);
    if (!report) return true;
    if (type.healthDenominator === "jobs") return report.jobsSince >= type.healthFrequency;
    const due = report.submitTime + type.healthFrequency * 3_600_000;
    if (due <= Date.now()) return true;
    // Not due yet: wake when it is (the one timer here, and only for a time-based rule).
    clearTimeout(this.#healthTimers.get(hostname));
    this.#healthTimers.set(
      hostname,
      setTimeout(() => this.#requestScheduling([hostname]), Math.min(due - Date.now(), 2 ** 31 - 1)),
    );
    return false;
  }

  /** Starts assigned jobs: reads their definitions, renders the devices, then moves every actor at once. */
  async #launch(assignments: readonly Assignment[], submitted: readonly SubmittedJob[] = []): Promise<void> {
    const ids = assignments.map((a) => a.job.id);
    const rows = await this.#o.db.selectFrom("test_jobs")
      .select(["id", "definition", "multinode_role", "sub_id"])
      .where("id", "in", ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const groups = new Map<string, Assignment[]>();
    const ready: { assignment: Assignment; start: JobStart; active: ActiveJob }[] = [];
    for (const assignment of assignments) {
      const row = byId.get(assignment.job.id);
      const info = this.#queuedInfo.get(assignment.job.id) ?? submitted.find((s) => s.id === assignment.job.id);
      if (!row || !info) {
        this.#release(assignment);
        continue;
      }
      if (assignment.job.group) {
        let members = groups.get(assignment.job.group);
        if (!members) groups.set(assignment.job.group, members = []);
        members.push(assignment);
      }
      try {
        const start = this.#jobStart(assignment, row.definition, assignments, byId);
        ready.push({ assignment, start, active: this.#activeFrom(info, row.multinode_role ?? undefined) });
      } catch (error) {
        if (!(error instanceof DeviceConfigurationError) && !(error instanceof JobValueError)) throw error;
        // Nothing of a group starts unless all of it does.
        const group = assignment.job.group;
        const members = group ? assignments.filter((a) => a.job.group === group) : [assignment];
        if (group) {
          for (let i = ready.length - 1; i >= 0; i--) if (ready[i].assignment.job.group === group) ready.splice(i, 1);
        }
        if (error instanceof JobValueError) {
          // The job's own values are at fault: it fails, and the device stays as it was for the next job.
          this.#log.info("a job's context cannot configure its device; the job fails", {
            job: assignment.job.id,
            device: assignment.device,
            error: error.message,
          });
          for (const member of members) {
            const memberInfo = this.#queuedInfo.get(member.job.id) ?? submitted.find((s) => s.id === member.job.id);
            this.#failQueued(member, memberInfo, "Job", `Invalid job context: ${error.message}`);
          }
          continue;
        }
        this.#log.error("a device cannot be configured; it is set Bad", { device: assignment.device, error });
        for (const member of members) this.#release(member);
        this.#devices.get(assignment.device)?.send({
          type: "health",
          health: "Bad",
          reason: `Invalid device configuration: ${error.message}`,
        });
        continue;
      }
    }
    // One synchronous block: every actor of the decision moves in the same journal batch.
    for (const { assignment, start, active } of ready) {
      this.#queuedInfo.delete(assignment.job.id);
      this.#prepared.set(assignment.job.id, start);
      const job = this.#spawnJob(active);
      const event = { device: assignment.device, worker: assignment.worker };
      job.send(assignment.job.group ? { type: "reserve", ...event } : { type: "schedule", ...event });
      this.#devices.get(assignment.device)!.send({ type: "reserve", job: String(assignment.job.id) });
      if (!active.healthCheck) {
        const report = this.#healthReports.get(assignment.device);
        if (report) report.jobsSince++;
      }
    }
    for (const { assignment } of ready) {
      if (assignment.job.group) this.#jobs.get(assignment.job.id)?.send({ type: "schedule" });
    }
  }

  /** Gives an assignment's device back and ends its job Incomplete, before it ever started. */
  #failQueued(assignment: Assignment, info: SubmittedJob | undefined, errorType: string, errorMsg: string): void {
    if (this.#busy.delete(assignment.device)) this.scheduler.adjustBusy(assignment.worker, -1);
    this.scheduler.queue.remove(assignment.job.id);
    this.#queuedInfo.delete(assignment.job.id);
    if (info) this.#spawnJob(this.#activeFrom(info)).send({ type: "abort", errorType, errorMsg });
    this.#deviceChanged(assignment.device);
  }

  /** Gives an assignment's device back and puts its job back in the queue. */
  #release(assignment: Assignment): void {
    if (this.#busy.delete(assignment.device)) this.scheduler.adjustBusy(assignment.worker, -1);
    const info = this.#queuedInfo.get(assignment.job.id);
    if (info && !info.healthCheck) this.scheduler.queue.add(info);
    this.#deviceChanged(assignment.device);
  }

  #jobStart(
    assignment: Assignment,
    definitionText: string,
    all: readonly Assignment[],
    rows: Map<number, { id: number; multinode_role: string | null; sub_id: string }>,
  ): JobStart {
    const device = this.catalog.devices.get(assignment.device)!;
    let definition = definitionText;
    const parsed = parseYaml(definitionText) as Record<string, unknown>;
    const context = isMapping(parsed?.context) ? parsed.context as Record<string, unknown> : {};
    let coordinator: Record<string, unknown> = {};
    if (assignment.job.group) {
      const roles: Record<string, string> = {};
      for (const other of all.filter((a) => a.job.group === assignment.job.group)) {
        roles[String(other.job.id)] = rows.get(other.job.id)?.multinode_role ?? "";
      }
      const protocol = (parsed.protocols as Record<string, Record<string, unknown>>)["lava-multinode"];
      protocol.roles = roles;
      definition = stringify(parsed);
      if (this.#o.coordinator) {
        coordinator = { coordinator_hostname: this.#o.coordinator.host, coordinator_port: this.#o.coordinator.port };
      }
    }
    const deviceYaml = this.#o.labDir.render(device, context);
    const worker = this.catalog.workers.get(assignment.worker);
    const dispatcher = worker?.dispatcherConfig ?? "";
    const dispatcherText = Object.keys(coordinator).length === 0 ? dispatcher : stringify({
      ...(isMapping(parseYaml(dispatcher || "{}")) ? parseYaml(dispatcher || "{}") : {}),
      ...coordinator,
    });
    return {
      job: String(assignment.job.id),
      definition,
      device: deviceYaml,
      ...(dispatcherText ? { dispatcher: dispatcherText } : {}),
      ...(worker?.envDut ? { envDut: worker.envDut } : {}),
    };
  }

  #dispatch(context: JobContext): void {
    const start = this.#prepared.get(Number(context.id));
    this.#prepared.delete(Number(context.id));
    if (!start || !context.worker) {
      this.#log.error("a job was scheduled without a prepared start; it is aborted", { job: context.id });
      queueMicrotask(() =>
        this.#jobs.get(Number(context.id))?.send({
          type: "abort",
          errorType: "Bug",
          errorMsg: "the master lost the job's start message",
        })
      );
      return;
    }
    // What the worker would refuse is never sent: the job would wait for it, on its device, for ever.
    const checked = labProtocol.parsers["job.start"](start);
    let problem = isProblem(checked) ? checked.problem : undefined;
    try {
      if (!problem) this.mailbox.send(context.worker, WORKER_RUNS, "job.start", start);
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) throw error;
      problem = error.message;
    }
    if (!problem) return;
    this.#log.warning("a job cannot be sent to its worker; it fails", { job: context.id, problem });
    queueMicrotask(() =>
      this.#jobs.get(Number(context.id))?.send({
        type: "abort",
        errorType: "Job",
        errorMsg: `the job cannot be sent to its worker: ${problem}`,
      })
    );
  }

  // --- what workers say ---------------------------------------------------------

  /** A worker's message, as the mailbox hands it over (benchmarks call it directly). */
  deliver(delivery: Delivery<LabProtocol>, scope: DeliveryScope<Tx>): void {
    const id = Number(delivery.body.job);
    // A worker speaks only for the jobs the master gave it: another worker's job is not its to end or log.
    const owner = this.#jobs.get(id);
    if (!owner) return void this.#jobActor(id);
    if (contextOf<JobContext>(owner).worker !== delivery.peer) {
      this.#log.warning("a worker sent a message about a job it does not run; dropped", {
        job: id,
        worker: delivery.peer,
        kind: delivery.kind,
      });
      return;
    }
    switch (delivery.kind) {
      case "job.started":
        return this.#onStarted(id);
      case "job.log":
        return this.#onLog(id, delivery.body.from, delivery.body.lines, scope);
      case "job.finished": {
        const { result, errorType, errorMsg, description } = delivery.body;
        const unstorable = this.#active.get(id)?.unstorable;
        const text = (value: string | undefined) => value === undefined ? undefined : storableText(value);
        return this.#jobActor(id)?.send({
          type: "finished",
          ...(unstorable
            ? { result: "fail", errorType: "Test", errorMsg: unstorable }
            : { result, errorType: text(errorType), errorMsg: text(errorMsg) }),
          description: text(description),
        });
      }
      case "job.refused":
        this.#log.warning("a worker refused a job; it goes back to the queue", {
          job: id,
          worker: delivery.peer,
          reason: delivery.body.reason,
        });
        return this.#jobActor(id)?.send({ type: "refused", reason: delivery.body.reason });
      default:
        this.#log.warning("a worker sent a message meant for workers; dropped", { kind: delivery.kind });
    }
  }

  /** A worker's session opened, closed or restarted without its journal. */
  peerEvent(event: PeerEvent): void {
    if (event.type === "online") {
      const summary = parseWorkerSummary(event.summary);
      if (!this.catalog.workers.has(event.peer)) {
        this.#log.warning("an unknown worker connected; it is registered", { worker: event.peer });
        this.catalog.workers.set(event.peer, {
          hostname: event.peer,
          description: "",
          jobLimit: 0,
          storedHealth: WorkerHealth.byName.Active,
          dispatcherConfig: "",
          env: "",
          envDut: "",
        });
        this.#o.host.committer.stage((batch) =>
          batch.work.push(async (trx) => {
            await trx.insertInto("workers").values({ hostname: event.peer }).onConflict((oc) => oc.doNothing())
              .execute();
          })
        );
        this.#spawnWorker(event.peer);
      }
      this.#workers.get(event.peer)?.send({
        type: "online",
        version: storableText(summary.version),
        jobLimit: summary.jobLimit,
      });
    } else if (event.type === "offline") {
      this.#workers.get(event.peer)?.send({ type: "offline" });
    } else if (event.type === "new-epoch") {
      // The worker lost its journal: the jobs it had are gone with it.
      for (const [id, actor] of this.#jobs) {
        const context = contextOf<JobContext>(actor);
        if (context.worker === event.peer && actor.getSnapshot().status === "active") {
          actor.send({ type: "abort", errorType: "Infrastructure", errorMsg: `worker ${event.peer} lost its state` });
          this.#log.warning("a worker restarted without its state; its job is failed", { job: id });
        }
      }
    }
  }

  #onStarted(id: number): void {
    const actor = this.#jobActor(id);
    if (!actor) return;
    actor.send({ type: "started" });
    const context = contextOf<JobContext>(actor);
    if (context.device) this.#devices.get(context.device)?.send({ type: "run", job: String(id) });
  }

  #onLog(
    id: number,
    from: number,
    lines: readonly JobLogLine[],
    scope: { journal(work: (tx: Tx) => void | Promise<void>): void },
  ) {
    const active = this.#active.get(id);
    if (!active) return this.#log.warning("log lines for a job that is not running; dropped", { job: id });
    if (from > active.nextLine) {
      this.#log.error("log lines arrived with a gap; the missing lines are lost", {
        job: id,
        expected: active.nextLine,
        from,
      });
    }
    const skip = Math.max(0, active.nextLine - from);
    const fresh = lines.slice(skip).map((l, i) => ({ ...l, msg: boundedLogMessage(l.msg), line: from + skip + i }));
    if (fresh.length === 0) return;
    this.#logLines += fresh.length;
    active.nextLine = from + lines.length;
    const results = fresh.filter((l) => l.lvl === "results" && isMapping(l.msg))
      .map((l) => ({ line: l.line, msg: l.msg as Record<string, unknown> }));
    scope.journal(refusable(async (trx) => {
      await appendLogLines(trx, id, fresh.map((l) => ({ ...l, lvl: l.lvl === "event" ? "debug" : l.lvl })));
      await storeResults(trx, id, results);
    }, (error) => this.#logRefused(id, fresh[0].line, fresh.at(-1)!.line, error)));
    for (const line of fresh) {
      if (line.lvl === "event") {
        this.#o.events.publish("event", this.catalog.usernames.get(active.submitter) ?? "", {
          message: line.msg,
          job: active.displayId,
        });
      }
    }
    for (const listener of this.#logListeners.get(id) ?? []) listener(fresh);
  }

  /** The database refused part of a job's log: the lab goes on, the job fails saying why. */
  #logRefused(id: number, first: number, last: number, error: unknown): void {
    const reason = `the master could not store log lines ${first}-${last}: ${
      storableText(error instanceof Error ? error.message : String(error)).slice(0, 1000)
    }`;
    this.#log.error("the database refused a job's log lines; the job will end Incomplete", { job: id, reason });
    const active = this.#active.get(id);
    if (active) return void (active.unstorable ??= reason);
    // The job ended before the refusal was known: its row says Complete, which it was not.
    this.#o.host.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("test_jobs")
          .set({ health: JobHealth.byName.Incomplete, error_type: "Test", error_msg: reason })
          .where("id", "=", id).where("health", "=", JobHealth.byName.Complete).execute();
      })
    );
  }

  // --- job ends -------------------------------------------------------------------

  #jobEnded(context: JobContext): void {
    const id = Number(context.id);
    const active = this.#active.get(id);
    if (context.device) {
      const device = this.#devices.get(context.device);
      device?.send({ type: "release", job: context.id });
      const current = this.#deviceContext(context.device)?.context.health;
      if (
        active?.healthCheck && current && current !== "Looping" && current !== "Maintenance" && current !== "Retired"
      ) {
        const good = context.health === "Complete";
        device?.send({
          type: "health",
          health: good ? "Good" : "Bad",
          reason: `health check ${context.id} ${good ? "passed" : `ended ${context.health}`}`,
        });
      } else if (
        !active?.healthCheck && context.health === "Incomplete" && INFRASTRUCTURE_ERRORS.has(context.errorType ?? "") &&
        current === "Good"
      ) {
        device?.send({ type: "health", health: "Unknown", reason: `job ${context.id}: ${context.errorType} error` });
      }
      if (active?.healthCheck) {
        const submitTime = active.submitTime;
        this.#healthReports.set(context.device, { submitTime, jobsSince: 0 });
        const device = context.device;
        this.#o.host.committer.stage((batch) =>
          batch.work.push(async (trx) => {
            await trx.updateTable("devices").set({ last_health_report_job: id }).where("hostname", "=", device)
              .execute();
          })
        );
      }
    }
    // A failed essential role, or any cancelled member, ends the whole group (LAVA cancels the others).
    if (active?.group && context.health !== "Complete") void this.#endGroup(active, context);
    this.#o.host.supervisor.stop("job", context.id, { forget: true });
    this.#jobs.delete(id);
    this.#active.delete(id);
    for (const listener of this.#endListeners.get(id) ?? []) listener();
    this.#endListeners.delete(id);
    this.#logListeners.delete(id);
    void this.webhooks.jobEnded(id, context);
  }

  async #endGroup(active: ActiveJob, context: JobContext): Promise<void> {
    const row = await this.#o.db.selectFrom("test_jobs").select("definition").where("id", "=", active.id)
      .executeTakeFirst();
    const definition = row ? parseYaml(row.definition) : undefined;
    const protocol = isMapping(definition) && isMapping(definition.protocols)
      ? (definition.protocols as Record<string, unknown>)["lava-multinode"]
      : undefined;
    const essential = isMapping(protocol) && protocol.essential === true;
    if (context.health === "Canceled" || essential) {
      await this.cancelGroup(active.group!, `job ${context.id} ended ${context.health}`);
    }
  }

  #requeue(context: JobContext): void {
    const id = Number(context.id);
    const active = this.#active.get(id);
    this.#o.host.supervisor.stop("job", context.id, { forget: true });
    this.#jobs.delete(id);
    this.#active.delete(id);
    if (!active) return;
    void (async () => {
      const tags = await this.#o.db.selectFrom("test_job_tags").select("tag").where("job_id", "=", id).execute();
      const row = await this.#o.db.selectFrom("test_jobs").select(["requested_device", "requested_worker"])
        .where("id", "=", id).executeTakeFirst();
      const job: SubmittedJob = {
        ...active,
        tags: tags.map((t) => t.tag),
        requestedDevice: row?.requested_device ?? undefined,
        requestedWorker: row?.requested_worker ?? undefined,
      };
      this.#queuedInfo.set(id, job);
      if (!job.healthCheck) this.scheduler.queue.add(job);
      this.#requestScheduling(this.catalog.devicesOf({ deviceType: job.deviceType }).map((d) => d.hostname));
    })();
  }

  // --- requests (API) -----------------------------------------------------------

  async submit(text: string, submitter: Submitter): Promise<SubmittedJob[]> {
    // Users may have been added since the master started.
    this.catalog.usernames.set(submitter.id, submitter.username);
    const planned = planSubmission(this.catalog, text);
    refuseUnfitContexts(this.catalog, planned, (device, context) => this.#o.labDir.render(device, context));
    const jobs = await storeSubmission(this.#o.db, planned, text, submitter);
    for (const job of jobs) {
      this.#queuedInfo.set(job.id, job);
      this.#publishJob(this.#activeFrom(job), "Submitted", "Unknown");
      this.#watchQueueTimeout(job);
    }
    this.scheduler.queue.addMany(jobs);
    const types = new Set(jobs.map((j) => j.deviceType));
    this.#requestScheduling(
      [...this.#devices.keys()].filter((h) => types.has(this.catalog.devices.get(h)!.deviceType)),
    );
    return jobs;
  }

  /** LAVA's `timeouts.queue`: a job still queued when it runs out is cancelled, a MultiNode job as a whole. */
  #watchQueueTimeout(job: SubmittedJob): void {
    if (!job.queueTimeoutSeconds) return;
    const left = job.submitTime + job.queueTimeoutSeconds * 1000 - Date.now();
    const timer = setTimeout(() => {
      this.#queueTimers.delete(timer);
      if (!this.#queuedInfo.has(job.id) || !this.scheduler.queue.has(job.id)) return;
      this.#log.info("a job waited longer than its queue timeout; it is cancelled", { job: job.id });
      void (job.group ? this.cancelGroup(job.group, "queue timeout") : Promise.resolve(this.#cancelOne(job.id)));
    }, Math.max(0, Math.min(left, 2 ** 31 - 1)));
    this.#queueTimers.add(timer);
  }

  /** Cancels a job (a MultiNode job as a whole group, as LAVA does). */
  async cancel(id: number, reason = "cancelled"): Promise<void> {
    const row = await this.#o.db.selectFrom("test_jobs").select(["id", "state", "target_group"]).where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw new LabRequestError(`job ${id} does not exist`, 404);
    if (row.state === JobState.byName.Finished) throw new LabRequestError(`job ${id} has already finished`, 409);
    if (row.target_group) return await this.cancelGroup(row.target_group, reason);
    this.#cancelOne(id);
  }

  async cancelGroup(group: string, reason: string): Promise<void> {
    const members = await this.#o.db.selectFrom("test_jobs").select("id").where("target_group", "=", group)
      .where("state", "<", JobState.byName.Finished).execute();
    this.#log.info("cancelling a MultiNode group", { group, reason, jobs: members.map((m) => m.id) });
    for (const member of members) this.#cancelOne(member.id);
  }

  #cancelOne(id: number): void {
    const actor = this.#jobs.get(id);
    if (actor) {
      const state = (actor.getSnapshot() as { value?: unknown }).value;
      if (state !== "Canceling") actor.send({ type: "cancel" });
      return;
    }
    const queued = this.#queuedInfo.get(id);
    if (!queued) return;
    this.scheduler.queue.remove(id);
    this.#queuedInfo.delete(id);
    this.#spawnJob(this.#activeFrom(queued)).send({ type: "cancel" });
  }

  setDeviceHealth(hostname: string, health: DeviceHealthName, reason: string): void {
    const actor = this.#devices.get(hostname);
    if (!actor) throw new LabRequestError(`device ${hostname} does not exist`, 404);
    actor.send({ type: "health", health, reason });
    const device = this.#deviceContext(hostname);
    // LAVA: retiring a device cancels its job.
    if (health === "Retired" && device?.context.job) this.#cancelOne(Number(device.context.job));
  }

  setWorkerHealth(hostname: string, health: WorkerHealthName): void {
    const actor = this.#workers.get(hostname);
    if (!actor) throw new LabRequestError(`worker ${hostname} does not exist`, 404);
    const before = contextOf<WorkerContext>(actor).health;
    actor.send({ type: "health", health });
    for (const device of this.catalog.devicesOf({ worker: hostname })) {
      const current = this.#deviceContext(device.hostname)?.context.health;
      if (health === "Retired" && current !== "Bad" && current !== "Retired") {
        this.setDeviceHealth(device.hostname, "Retired", `worker ${hostname} retired`);
      } else if (health === "Active" && before !== "Active" && before !== "Retired" && current === "Good") {
        this.setDeviceHealth(device.hostname, "Unknown", `worker ${hostname} back in service`);
      }
    }
  }

  /** Adds a device created through the API to the running lab. */
  deviceAdded(info: DeviceInfo): void {
    this.catalog.devices.set(info.hostname, info);
    if (!this.#devices.has(info.hostname)) this.#spawnDevice(info);
    else {
      this.scheduler.setDevice({
        hostname: info.hostname,
        deviceType: info.deviceType,
        worker: info.worker,
        tags: new Set(info.tags),
        submitGroups: info.submitGroups,
      });
      this.#deviceChanged(info.hostname);
    }
  }

  workerAdded(hostname: string): void {
    if (!this.#workers.has(hostname)) this.#spawnWorker(hostname);
  }

  /** A device's state and health now. */
  deviceStatus(
    hostname: string,
  ): { state: string; health: DeviceHealthName; job?: string; reason?: string } | undefined {
    const device = this.#deviceContext(hostname);
    return device &&
      { state: device.state, health: device.context.health, job: device.context.job, reason: device.context.reason };
  }

  workerStatus(hostname: string): { state: string; health: WorkerHealthName; version?: string } | undefined {
    const actor = this.#workers.get(hostname);
    if (!actor) return undefined;
    const snapshot = actor.getSnapshot() as unknown as { value: string; context: WorkerContext };
    return { state: snapshot.value, health: snapshot.context.health, version: snapshot.context.version };
  }

  /** What /metrics shows, gathered from the actors and counters in memory. */
  metrics() {
    const jobs = new Map<string, number>([["Submitted", this.scheduler.queue.size]]);
    for (const actor of this.#jobs.values()) {
      const state = String((actor.getSnapshot() as { value?: unknown }).value);
      jobs.set(state, (jobs.get(state) ?? 0) + 1);
    }
    const devices = new Map<string, number>();
    for (const hostname of this.#devices.keys()) {
      const d = this.#deviceContext(hostname)!;
      const key = `${d.state}\u0000${d.context.health}`;
      devices.set(key, (devices.get(key) ?? 0) + 1);
    }
    const workers = new Map<string, number>();
    for (const hostname of this.#workers.keys()) {
      const w = this.workerStatus(hostname)!;
      const key = `${w.state}\u0000${w.health}`;
      workers.set(key, (workers.get(key) ?? 0) + 1);
    }
    return {
      queued: this.scheduler.queue.size,
      jobs,
      devices,
      workers,
      logLines: this.#logLines,
      passSeconds: [...this.#passSeconds],
      mailbox: this.mailbox.stats(),
      events: this.#o.events.published,
    };
  }

  /** How many jobs wait in the queue and how many run, for the overview. */
  counts(): { queued: number; running: number } {
    let running = 0;
    for (const actor of this.#jobs.values()) {
      if ((actor.getSnapshot() as { value?: unknown }).value === "Running") running++;
    }
    return { queued: this.scheduler.queue.size, running };
  }

  /** Whether the job's actor is running (not yet Finished). */
  isActive(id: number): boolean {
    return this.#jobs.has(id) || this.#queuedInfo.has(id);
  }

  /** Calls `listener` with new log lines of a running job; returns the unsubscribe function. */
  followLog(id: number, listener: LogListener, onEnd: () => void): () => void {
    let lines = this.#logListeners.get(id);
    if (!lines) this.#logListeners.set(id, lines = new Set());
    lines.add(listener);
    let ends = this.#endListeners.get(id);
    if (!ends) this.#endListeners.set(id, ends = new Set());
    ends.add(onEnd);
    return () => {
      lines.delete(listener);
      ends.delete(onEnd);
    };
  }

  // --- projections: rows and events from transitions --------------------------

  #project(record: TransitionRecord): void {
    if (record.actorKind === "job") return this.#projectJob(record);
    if (record.actorKind === "device") return this.#projectDevice(record);
    if (record.actorKind === "worker") return this.#projectWorker(record);
  }

  #projectJob(record: TransitionRecord): void {
    const id = Number(record.actorId);
    const actor = this.#jobs.get(id);
    const active = this.#active.get(id);
    if (!actor || !active) return;
    const context = contextOf<JobContext>(actor);
    const state = record.stateAfter as keyof typeof JobState.byName;
    if (!(state in JobState.byName)) return;
    const values = {
      state: JobState.byName[state],
      health: JobHealth.byName[context.health],
      actual_device: context.device ?? null,
      start_time: context.startTime ?? null,
      end_time: context.endTime ?? null,
      error_type: context.errorType ?? null,
      error_msg: context.errorMsg?.slice(0, 10_000) ?? null,
      pipeline_description: context.description ?? null,
    };
    const ranAndEnded = state === "Finished" && context.startTime !== undefined;
    this.#o.host.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("test_jobs").set(values).where("id", "=", id).execute();
        if (ranAndEnded) {
          await recordJobOutcome(trx, id, {
            result: context.health === "Complete" ? "pass" : "fail",
            errorType: context.errorType,
            errorMsg: context.errorMsg,
          });
        }
      })
    );
    this.#publishJob(active, state, context.health, context);
  }

  #publishJob(active: ActiveJob, state: string, health: string, context?: JobContext): void {
    const device = context?.device ? this.catalog.devices.get(context.device) : undefined;
    this.#o.events.publish("testjob", this.catalog.usernames.get(active.submitter) ?? "", {
      job: active.displayId,
      state,
      health,
      description: active.description,
      priority: active.priority,
      submit_time: new Date(active.submitTime).toISOString(),
      submitter: this.catalog.usernames.get(active.submitter) ?? "",
      visibility: ["Public", "Personal", "Group"][active.visibility] ?? "Public",
      health_check: active.healthCheck,
      device_type: active.deviceType,
      ...(active.group ? { sub_id: active.displayId } : {}),
      ...(context?.device ? { device: context.device } : {}),
      ...(device?.worker ? { worker: device.worker } : {}),
      ...(context?.startTime ? { start_time: context.startTime } : {}),
      ...(context?.endTime ? { end_time: context.endTime } : {}),
    });
  }

  #projectDevice(record: TransitionRecord): void {
    const device = this.#deviceContext(record.actorId);
    const info = this.catalog.devices.get(record.actorId);
    if (!device || !info) return;
    const state = device.state as keyof typeof DeviceState.byName;
    const values = {
      state: DeviceState.byName[state],
      health: DeviceHealth.byName[device.context.health],
      health_reason: device.context.reason ?? null,
    };
    const hostname = record.actorId;
    this.#o.host.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("devices").set(values).where("hostname", "=", hostname).execute();
      })
    );
    this.#o.events.publish("device", "lavaserver", {
      device: hostname,
      device_type: info.deviceType,
      worker: info.worker,
      state,
      health: device.context.health,
      ...(device.context.job ? { job: device.context.job } : {}),
    });
  }

  #projectWorker(record: TransitionRecord): void {
    const actor = this.#workers.get(record.actorId);
    if (!actor) return;
    const snapshot = actor.getSnapshot() as unknown as { value: string; context: WorkerContext };
    const state = snapshot.value as keyof typeof WorkerState.byName;
    const values = {
      state: WorkerState.byName[state],
      health: WorkerHealth.byName[snapshot.context.health],
      last_ping: snapshot.context.lastSeen ?? null,
      version: snapshot.context.version ?? "",
    };
    const hostname = record.actorId;
    this.#o.host.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("workers").set(values).where("hostname", "=", hostname).execute();
      })
    );
    this.#o.events.publish("worker", "lavaserver", { hostname, state, health: snapshot.context.health });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#healthTimers.values()) clearTimeout(timer);
    for (const timer of this.#queueTimers) clearTimeout(timer);
    await this.settled();
    await this.webhooks.close();
  }
}

export { SubmissionError };
