/**
 * Purging old jobs: whole jobs — definition, log, results, tags, webhook
 * deliveries and actor history — in one transaction per batch, the only
 * deletes the append-only log and history tables allow (migration 0006). A job
 * is purged only when Finished; a MultiNode job only with every job of its
 * group; a device's last health check never (the health schedule counts from
 * it).
 */
import { type Kysely, sql } from "kysely";
import { JobState } from "../../actors/domain/states.ts";
import type { Database } from "./schema.ts";

/** Which finished jobs to purge. */
export interface PurgeFilter {
  /** These jobs only. */
  readonly ids?: readonly number[];
  /** Ended more than this many days ago. */
  readonly olderThanDays?: number;
  /**
   * Ended longer ago than their device type's `retention_days`, or this many days for types without one
   * (null: such types' jobs are kept).
   */
  readonly retention?: { readonly defaultDays: number | null };
  readonly deviceType?: string;
  readonly submitter?: string;
}

const FINISHED = JobState.byName.Finished;

function eligible(db: Kysely<Database>, filter: PurgeFilter) {
  let query = db.selectFrom("test_jobs as j").select(["j.id", "j.target_group"])
    .where("j.state", "=", FINISHED)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom("devices as d").select("d.hostname").whereRef("d.last_health_report_job", "=", "j.id")))
    );
  if (filter.ids) query = query.where("j.id", "in", filter.ids.length ? [...filter.ids] : [-1]);
  if (filter.olderThanDays !== undefined) {
    query = query.where("j.end_time", "<", new Date(Date.now() - filter.olderThanDays * 86_400_000));
  }
  if (filter.deviceType !== undefined) query = query.where("j.requested_device_type", "=", filter.deviceType);
  if (filter.submitter !== undefined) {
    query = query.where(
      "j.submitter_id",
      "=",
      (eb) => eb.selectFrom("users").select("id").where("username", "=", filter.submitter!),
    );
  }
  if (filter.retention) {
    const fallback = filter.retention.defaultDays;
    // Without a lab default only the types that keep their jobs a set time can have any: read only theirs.
    if (fallback === null) {
      query = query.where(
        "j.requested_device_type",
        "in",
        (eb) => eb.selectFrom("device_types").select("name").where("retention_days", "is not", null),
      );
    }
    query = query.where(
      sql<boolean>`j.end_time < now() - make_interval(days => coalesce(
        (SELECT t.retention_days FROM device_types t WHERE t.name = j.requested_device_type), ${fallback}::integer))`,
    );
  }
  return query;
}

/**
 * Up to `limit` jobs the filter selects, with whole MultiNode groups only (a group is left out when any of its jobs
 * is not selected), oldest first.
 */
export async function purgeable(db: Kysely<Database>, filter: PurgeFilter, limit: number): Promise<number[]> {
  const rows = await eligible(db, filter).orderBy("j.id").limit(limit).execute();
  const groups = [...new Set(rows.map((r) => r.target_group).filter((g): g is string => g !== null))];
  if (groups.length === 0) return rows.map((r) => r.id);
  const [members, selected] = await Promise.all([
    db.selectFrom("test_jobs").select(["id", "target_group"]).where("target_group", "in", groups).execute(),
    eligible(db, filter).where("j.target_group", "in", groups).execute(),
  ]);
  const chosen = new Set(selected.map((r) => r.id));
  const whole = new Set(groups.filter((g) => members.every((m) => m.target_group !== g || chosen.has(m.id))));
  const ids = new Set(rows.filter((r) => r.target_group === null).map((r) => r.id));
  for (const m of members) if (whole.has(m.target_group!)) ids.add(m.id);
  return [...ids].sort((a, b) => a - b);
}

/** Deletes the jobs and everything kept about them, in one transaction; returns how many jobs went. */
export async function purgeJobs(db: Kysely<Database>, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const list = [...ids];
  return await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL basalt.purge = 'on'`.execute(trx);
    const groups = (await trx.selectFrom("test_jobs").select("target_group").distinct().where("id", "in", list)
      .where("target_group", "is not", null).execute()).map((r) => r.target_group!);
    await trx.deleteFrom("job_log_lines").where("job_id", "in", list).execute();
    await trx.deleteFrom("webhook_deliveries").where("job_id", "in", list).execute();
    const actorIds = list.map(String);
    await trx.deleteFrom("actor_events").where("actor_kind", "=", "job").where("actor_id", "in", actorIds).execute();
    await trx.deleteFrom("actor_snapshots").where("kind", "=", "job").where("id", "in", actorIds).execute();
    if (groups.length > 0) {
      await trx.deleteFrom("actor_events").where("actor_kind", "=", "group").where("actor_id", "in", groups).execute();
      await trx.deleteFrom("actor_snapshots").where("kind", "=", "group").where("id", "in", groups).execute();
    }
    const result = await trx.deleteFrom("test_jobs").where("id", "in", list).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
