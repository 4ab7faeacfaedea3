/**
 * What follows a job's actor leaving the running states, elsewhere in the lab:
 *
 * - Finished: its device is released with the job's outcome (the device machine
 *   decides the health that follows), a health check's time is recorded, its
 *   MultiNode group is told (the group machine decides whether the others are
 *   cancelled), followers and webhooks are told, and the actor is let go.
 * - Refused by its worker (back to Submitted): the actor is let go and the job
 *   waits in the queue again.
 */
import type { Kysely, Transaction } from "kysely";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import type { Committer } from "../../actors/runtime/committer.ts";
import type { Database } from "../storage/schema.ts";
import type { Catalog } from "./catalog.ts";
import type { HealthSchedule } from "./health_schedule.ts";
import type { LogFollowers } from "./log_followers.ts";
import type { Placement } from "./placement.ts";
import type { ActorRegistry } from "./registry.ts";
import type { SubmittedJob } from "./submission.ts";
import type { WaitingJobs } from "./waiting_jobs.ts";
import type { Webhooks } from "./webhooks.ts";

type Tx = Transaction<Database>;

export interface JobEndsOptions {
  readonly db: Kysely<Database>;
  readonly registry: ActorRegistry;
  readonly catalog: Catalog;
  readonly waiting: WaitingJobs;
  readonly placement: Placement;
  readonly healthSchedule: HealthSchedule;
  readonly followers: LogFollowers;
  readonly webhooks: Webhooks;
  readonly committer: Committer<Tx>;
}

export class JobEnds {
  constructor(private readonly o: JobEndsOptions) {}

  /** The job's actor reached Finished. */
  finished(id: number): void {
    const { registry } = this.o;
    const job = registry.jobSnapshot(id);
    const active = registry.facts(id);
    if (!job || !active) return;
    const { context } = job;
    if (context.device) {
      // Recorded before the device is released: releasing it can start a scheduling pass at once, which must see
      // this health check done, or it would find the device with none on record and give it another.
      if (active.healthCheck) this.#healthChecked(context.device, id, active.submitTime);
      registry.device(context.device)?.send({
        type: "release",
        job: context.id,
        outcome: {
          healthCheck: active.healthCheck,
          health: context.health,
          errorType: context.errorType,
          ...(active.reservation ? { reservation: true } : {}),
        },
      });
    }
    if (active.group) {
      registry.group(active.group)?.send({ type: "memberEnded", job: context.id, health: context.health });
    }
    registry.removeJob(id);
    this.o.followers.ended(id, context.health);
    void this.o.webhooks.jobChanged(id, JobState.byName.Finished, JobHealth.parse(context.health));
  }

  /** The job's worker refused it: it waits for a device again. */
  async refused(id: number): Promise<void> {
    const active = this.o.registry.facts(id);
    this.o.registry.removeJob(id);
    if (!active) return;
    const tags = await this.o.db.selectFrom("test_job_tags").select("tag").where("job_id", "=", id).execute();
    const row = await this.o.db.selectFrom("test_jobs").select(["requested_device", "requested_worker"])
      .where("id", "=", id).executeTakeFirst();
    const job: SubmittedJob = {
      ...active,
      tags: tags.map((t) => t.tag),
      requestedDevice: row?.requested_device ?? undefined,
      requestedWorker: row?.requested_worker ?? undefined,
    };
    this.o.waiting.add([job]);
    this.o.placement.request(this.o.catalog.devicesOf({ deviceType: job.deviceType }).map((d) => d.hostname));
  }

  #healthChecked(device: string, id: number, submitTime: number): void {
    this.o.healthSchedule.healthChecked(device, submitTime);
    this.o.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("devices").set({ last_health_report_job: id }).where("hostname", "=", device).execute();
      })
    );
  }
}
