/**
 * Cancelling jobs, as LAVA does: a queued job ends Canceled at once, a running
 * one asks its worker (the job machine's Canceling), and a MultiNode job is
 * cancelled as a whole group — by its group machine, which cancels every member
 * that has not ended.
 */
import type { Kysely } from "kysely";
import { JobState } from "../../actors/domain/states.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { Database } from "../storage/schema.ts";
import { LabRequestError } from "./request_error.ts";
import { activeJobOf, type ActorRegistry } from "./registry.ts";
import type { WaitingJobs } from "./waiting_jobs.ts";

export class Cancellation {
  readonly #log: Logger;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly registry: ActorRegistry,
    private readonly waiting: WaitingJobs,
    logger: Logger,
  ) {
    this.#log = logger.with({ component: "cancellation" });
  }

  /** Cancels a job the API names (a MultiNode job as a whole group). */
  async cancel(id: number, reason = "cancelled"): Promise<void> {
    const row = await this.db.selectFrom("test_jobs").select(["id", "state", "target_group"]).where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw new LabRequestError(`job ${id} does not exist`, 404);
    if (row.state === JobState.byName.Finished) throw new LabRequestError(`job ${id} has already finished`, 409);
    if (row.target_group && this.registry.group(row.target_group)) return this.cancelGroup(row.target_group, reason);
    this.cancelOne(id);
  }

  /** Cancels every member of a MultiNode group that has not ended. */
  cancelGroup(group: string, reason: string): void {
    const actor = this.registry.group(group);
    if (!actor) return this.#log.warning("a group to cancel has no members left", { group, reason });
    this.#log.info("cancelling a MultiNode group", { group, reason });
    actor.send({ type: "cancel", reason });
  }

  /**
   * An admin's force-fail: the job ends Incomplete now, with an infrastructure error (so its device runs a health
   * check before another job), whatever its worker says later; a worker still running it is told to stop.
   */
  fail(id: number, message: string): void {
    const abort = { type: "abort", errorType: "Infrastructure", errorMsg: message } as const;
    const job = this.registry.jobSnapshot(id);
    if (job) {
      const actor = this.registry.job(id)!;
      if (job.state === "Scheduled" || job.state === "Running") actor.send({ type: "cancel" });
      actor.send(abort);
      return;
    }
    const queued = this.waiting.remove(id);
    if (queued) this.registry.spawnJob(activeJobOf(queued)).send(abort);
  }

  /** Cancels one job, queued or placed; a job already being cancelled is left to end. */
  cancelOne(id: number): void {
    const job = this.registry.jobSnapshot(id);
    if (job) {
      if (job.state !== "Canceling") this.registry.job(id)!.send({ type: "cancel" });
      return;
    }
    const queued = this.waiting.remove(id);
    if (queued) this.registry.spawnJob(activeJobOf(queued)).send({ type: "cancel" });
  }
}
