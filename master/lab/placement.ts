/**
 * Placing jobs on devices. A submission, a device becoming Idle, a worker
 * coming online or a health change each ask for a pass over the devices they
 * concern; passes are coalesced and run one at a time. A pass first gives due
 * devices their health check (LAVA's step 2), then lets the scheduler decide in
 * memory, then starts what it decided: reads the definitions, prepares each
 * start message, and moves every actor of the decision in one synchronous block
 * (one journal batch). A job whose own values cannot configure its device fails
 * and the device stays as it was; a device whose configuration cannot be
 * rendered is marked invalid (Bad) and its jobs wait for another.
 */
import type { Kysely } from "kysely";
import type { Logger } from "../../actors/runtime/log.ts";
import {
  type Capabilities,
  describeMissing,
  missingMethods,
  requiredMethods,
} from "../../actors/definitions/methods.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import type { JobStart } from "../../actors/lab/protocol.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { Database } from "../storage/schema.ts";
import { JobValueError } from "../devices/job_values.ts";
import type { Catalog } from "./catalog.ts";
import type { HealthSchedule } from "./health_schedule.ts";
import { prepareJobStart, startProblem } from "./job_start.ts";
import { DeviceConfigurationError, type LabDir } from "./lab_dir.ts";
import type { Projections } from "./projections.ts";
import { type ActiveJob, activeJobOf, type ActorRegistry } from "./registry.ts";
import type { Assignment, Scheduler } from "./scheduler.ts";
import { planSubmission, storeSubmission, type SubmittedJob, type Submitter } from "./submission.ts";
import type { WaitingJobs } from "./waiting_jobs.ts";

/** Healths in which an Idle device gets a health check when one is due. */
const HEALTH_CHECK_HEALTHS = new Set<DeviceHealthName>(["Good", "Unknown", "Looping"]);

export interface PlacementOptions {
  readonly db: Kysely<Database>;
  readonly registry: ActorRegistry;
  readonly scheduler: Scheduler;
  readonly waiting: WaitingJobs;
  readonly catalog: Catalog;
  readonly labDir: LabDir;
  readonly healthSchedule: HealthSchedule;
  readonly projections: Projections;
  /** The user health checks are submitted as. */
  readonly healthUser: () => Submitter;
  readonly coordinator?: { readonly host: string; readonly port: number };
  readonly logger: Logger;
}

interface Ready {
  readonly assignment: Assignment;
  readonly start: JobStart;
  readonly active: ActiveJob;
}

export class Placement {
  readonly #o: PlacementOptions;
  readonly #log: Logger;
  /** The last passes' durations (seconds), for /metrics. */
  readonly passSeconds: number[] = [];
  #pending: Set<string> | "all" | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: PlacementOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "placement" });
  }

  /** Asks for a pass over these devices (or all); passes asked for while one runs are merged into the next. */
  request(devices: Iterable<string> | "all"): void {
    if (this.#closed) return;
    if (devices === "all" || this.#pending === "all") this.#pending = "all";
    else {
      this.#pending ??= new Set();
      for (const d of devices) (this.#pending as Set<string>).add(d);
    }
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined && !this.#closed) {
      const candidates = this.#pending;
      this.#pending = undefined;
      try {
        await this.#pass(candidates);
      } catch (error) {
        this.#log.error("a scheduling pass failed", { error });
      }
    }
    this.#running = undefined;
  }

  /** Resolves when no pass is pending or running. */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
  }

  async #pass(candidates: Set<string> | "all"): Promise<void> {
    const started = performance.now();
    const devices = candidates === "all" ? this.#o.registry.deviceNames() : [...candidates];
    await this.#healthChecks(devices);
    const assignments = this.#o.scheduler.decide(candidates === "all" ? undefined : devices);
    if (assignments.length > 0) await this.#launch(assignments);
    this.passSeconds.push((performance.now() - started) / 1000);
    if (this.passSeconds.length > 1000) this.passSeconds.splice(0, this.passSeconds.length - 1000);
  }

  /** Devices that are due a health check get one before any other job. */
  async #healthChecks(hostnames: readonly string[]): Promise<void> {
    const { registry, scheduler, catalog, labDir } = this.#o;
    for (const hostname of hostnames) {
      const device = registry.deviceSnapshot(hostname);
      const info = catalog.devices.get(hostname);
      if (!device || !info || device.state !== "Idle" || !HEALTH_CHECK_HEALTHS.has(device.context.health)) continue;
      if (scheduler.status(hostname)?.claimed || !scheduler.workerHasRoom(info.worker)) continue;
      const type = catalog.deviceTypes.get(info.deviceType);
      if (!type || type.disableHealthCheck) continue;
      const definition = labDir.healthCheck(info.deviceType, info.dictionary ?? labDir.dictionaryFile(hostname));
      if (definition === undefined) continue;
      if (!this.#o.healthSchedule.isDue(hostname, device.context.health, type)) continue;
      // A health check its worker cannot run is not a failing device: it waits, and its health stays.
      if (!this.#workerRunsHealthCheck(hostname, info.worker, definition)) continue;
      // Held now, so no other job takes it while the health check is stored.
      scheduler.claim(hostname);
      let job: SubmittedJob;
      let stored: string;
      try {
        const options = { healthCheck: true, device: hostname };
        const planned = planSubmission(catalog, definition, options);
        [job] = await storeSubmission(this.#o.db, planned, definition, this.#o.healthUser(), options);
        stored = planned[0].text;
      } catch (error) {
        scheduler.unclaim(hostname);
        registry.device(hostname)?.send({
          type: "invalid",
          reason: `Invalid health check: ${error instanceof Error ? error.message : error}`,
        });
        continue;
      }
      this.#o.projections.publishJob(activeJobOf(job), "Submitted", "Unknown");
      await this.#launch([{ job, device: hostname, worker: info.worker! }], { job, definition: stored });
    }
  }

  /** Devices already told about a health check their worker cannot run, with what was said. */
  readonly #unrunnable = new Map<string, string>();

  #workerRunsHealthCheck(hostname: string, worker: string | null, definition: string): boolean {
    let requires: Capabilities;
    try {
      requires = requiredMethods(loadYaml(definition).value);
    } catch {
      return true; // Not YAML: planning it refuses it, as before.
    }
    const capabilities = worker ? this.#o.registry.workerSnapshot(worker)?.context.capabilities : undefined;
    const missing = capabilities ? missingMethods(requires, capabilities) : [];
    if (missing.length === 0) {
      this.#unrunnable.delete(hostname);
      return true;
    }
    const reason = describeMissing(missing);
    if (this.#unrunnable.get(hostname) !== reason) {
      this.#unrunnable.set(hostname, reason);
      this.#log.warning("the device's health check uses what its worker does not run; it is not started", {
        device: hostname,
        worker,
        missing: reason,
      });
    }
    return false;
  }

  /**
   * Starts assigned jobs: reads their definitions (a health check just stored
   * brings its own), renders the devices, then moves every actor at once.
   */
  async #launch(
    assignments: readonly Assignment[],
    healthCheck?: { readonly job: SubmittedJob; readonly definition: string },
  ): Promise<void> {
    const rows = healthCheck
      ? [{ id: healthCheck.job.id, definition: healthCheck.definition, multinode_role: null }]
      : await this.#o.db.selectFrom("test_jobs")
        .select(["id", "definition", "multinode_role"])
        .where("id", "in", assignments.map((a) => a.job.id)).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const infoOf = (id: number) =>
      this.#o.waiting.get(id) ?? (healthCheck?.job.id === id ? healthCheck.job : undefined);
    const ready: Ready[] = [];
    for (const assignment of assignments) {
      const row = byId.get(assignment.job.id);
      const info = infoOf(assignment.job.id);
      if (!row || !info) {
        this.#giveBack(assignment);
        continue;
      }
      const group = assignment.job.group;
      const members = group ? assignments.filter((a) => a.job.group === group) : [assignment];
      try {
        const start = prepareJobStart({
          job: assignment.job.id,
          definition: row.definition,
          roles: group
            ? Object.fromEntries(members.map((m) => [String(m.job.id), byId.get(m.job.id)?.multinode_role ?? ""]))
            : undefined,
          render: (context) => this.#o.labDir.render(this.#o.catalog.devices.get(assignment.device)!, context),
          worker: this.#o.catalog.workers.get(assignment.worker),
          coordinator: this.#o.coordinator,
          connection: assignment.connection,
        });
        ready.push({ assignment, start, active: activeJobOf(info, row.multinode_role ?? undefined) });
      } catch (error) {
        if (!(error instanceof DeviceConfigurationError) && !(error instanceof JobValueError)) throw error;
        // Nothing of a group starts unless all of it does.
        if (group) {
          for (let i = ready.length - 1; i >= 0; i--) if (ready[i].assignment.job.group === group) ready.splice(i, 1);
        }
        if (error instanceof JobValueError) {
          this.#log.info("a job's context cannot configure its device; the job fails", {
            job: assignment.job.id,
            device: assignment.device,
            error: error.message,
          });
          for (const member of members) this.#failUnstarted(member, infoOf(member.job.id), error.message);
          continue;
        }
        this.#log.error("a device cannot be configured; it is set Bad", { device: assignment.device, error });
        for (const member of members) this.#giveBack(member);
        this.#o.registry.device(assignment.device)?.send({
          type: "invalid",
          reason: `Invalid device configuration: ${error.message}`,
        });
      }
    }
    this.#start(ready);
  }

  /** One synchronous block: every actor of the decision moves in the same journal batch. */
  #start(ready: readonly Ready[]): void {
    const { registry, waiting } = this.#o;
    for (const { assignment, active } of ready) {
      waiting.remove(assignment.job.id);
      const job = registry.spawnJob(active);
      // A secondary connection takes no device: its host role's job holds it.
      if (assignment.connection) continue;
      if (assignment.job.group) job.send({ type: "reserve", device: assignment.device, worker: assignment.worker });
      registry.device(assignment.device)!.send({ type: "reserve", job: String(assignment.job.id) });
      if (!active.healthCheck) this.#o.healthSchedule.jobStarted(assignment.device);
    }
    const groups = new Set<string>();
    for (const { assignment, start } of ready) {
      const job = registry.job(assignment.job.id);
      const problem = startProblem(start);
      if (problem) this.#log.warning("a job cannot be sent to its worker; it fails", { job: start.job, problem });
      job?.send({
        type: "schedule",
        device: assignment.connection ? undefined : assignment.device,
        worker: assignment.worker,
        start,
        problem,
      });
      if (assignment.job.group) groups.add(assignment.job.group);
    }
    for (const group of groups) registry.group(group)?.send({ type: "placed" });
    void this.#keepRunFiles(ready);
  }

  /** What each job was started with, for `scheduler.jobs.configuration`; one insert for the whole decision. */
  async #keepRunFiles(ready: readonly Ready[]): Promise<void> {
    if (ready.length === 0) return;
    try {
      await this.#o.db.insertInto("job_run_files").values(ready.map(({ assignment, start }) => ({
        job_id: assignment.job.id,
        device: start.device,
        dispatcher: start.dispatcher ?? "",
        env: this.#o.catalog.workers.get(assignment.worker)?.env ?? "",
        env_dut: start.envDut ?? "",
      }))).onConflict((oc) =>
        // A job its worker refused starts again, maybe elsewhere: the last start is what it ran with.
        oc.column("job_id").doUpdateSet((eb) => ({
          device: eb.ref("excluded.device"),
          dispatcher: eb.ref("excluded.dispatcher"),
          env: eb.ref("excluded.env"),
          env_dut: eb.ref("excluded.env_dut"),
        }))
      ).execute();
    } catch (error) {
      this.#log.warning("could not keep the files jobs were started with", { error });
    }
  }

  /** Ends an assigned job Incomplete before it ever started; its device goes back as it was. */
  #failUnstarted(assignment: Assignment, info: SubmittedJob | undefined, message: string): void {
    this.#o.waiting.remove(assignment.job.id);
    if (!assignment.connection) this.#o.scheduler.unclaim(assignment.device);
    if (info) {
      this.#o.registry.spawnJob(activeJobOf(info)).send({
        type: "abort",
        errorType: "Job",
        errorMsg: `Invalid job context: ${message}`,
      });
    }
    this.request([assignment.device]);
  }

  /** Gives an assignment's device back and puts its job back in the queue. */
  #giveBack(assignment: Assignment): void {
    if (!assignment.connection) this.#o.scheduler.unclaim(assignment.device);
    this.#o.waiting.putBack(assignment.job.id);
    this.request([assignment.device]);
  }
}
