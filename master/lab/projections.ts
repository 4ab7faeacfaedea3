/**
 * What each transition of a job, device or worker actor means outside it: the
 * domain row it updates (staged into the same journal batch as the transition)
 * and the LAVA event it publishes.
 */
import {
  DeviceHealth,
  DeviceState,
  JobHealth,
  JobState,
  WorkerHealth,
  WorkerState,
} from "../../actors/domain/states.ts";
import type { JobContext } from "../../actors/machines/job.ts";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Committer } from "../../actors/runtime/committer.ts";
import type { Transaction } from "kysely";
import type { Database } from "../storage/schema.ts";
import type { Catalog } from "./catalog.ts";
import type { EventHub } from "./events.ts";
import type { ActiveJob, ActorRegistry } from "./registry.ts";
import { recordJobOutcome } from "./results.ts";

type Tx = Transaction<Database>;

export class Projections {
  constructor(
    private readonly registry: ActorRegistry,
    private readonly catalog: Catalog,
    private readonly events: EventHub,
    private readonly committer: Committer<Tx>,
  ) {}

  project(record: TransitionRecord): void {
    if (record.actorKind === "job") return this.#job(record);
    if (record.actorKind === "device") return this.#device(record);
    if (record.actorKind === "worker") return this.#worker(record);
  }

  /** Publishes a job's `testjob` event (also for a job that has no actor yet: Submitted). */
  publishJob(active: ActiveJob, state: string, health: string, context?: JobContext): void {
    const device = context?.device ? this.catalog.devices.get(context.device) : undefined;
    this.events.publish("testjob", this.catalog.usernames.get(active.submitter) ?? "", {
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

  #job(record: TransitionRecord): void {
    const id = Number(record.actorId);
    const job = this.registry.jobSnapshot(id);
    const active = this.registry.facts(id);
    if (!job || !active) return;
    const { context } = job;
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
    this.committer.stage((batch) =>
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
    this.publishJob(active, state, context.health, context);
  }

  #device(record: TransitionRecord): void {
    const hostname = record.actorId;
    const device = this.registry.deviceSnapshot(hostname);
    const info = this.catalog.devices.get(hostname);
    if (!device || !info) return;
    const values = {
      state: DeviceState.byName[device.state],
      health: DeviceHealth.byName[device.context.health],
      health_reason: device.context.reason ?? null,
    };
    this.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("devices").set(values).where("hostname", "=", hostname).execute();
      })
    );
    this.events.publish("device", "lavaserver", {
      device: hostname,
      device_type: info.deviceType,
      worker: info.worker,
      state: device.state,
      health: device.context.health,
      ...(device.context.job ? { job: device.context.job } : {}),
    });
  }

  #worker(record: TransitionRecord): void {
    const hostname = record.actorId;
    const worker = this.registry.workerSnapshot(hostname);
    if (!worker) return;
    const values = {
      state: WorkerState.byName[worker.state],
      health: WorkerHealth.byName[worker.context.health],
      last_ping: worker.context.lastSeen ?? null,
      version: worker.context.version ?? "",
    };
    this.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("workers").set(values).where("hostname", "=", hostname).execute();
      })
    );
    this.events.publish("worker", "lavaserver", { hostname, state: worker.state, health: worker.context.health });
  }
}
