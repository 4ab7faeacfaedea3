import type { Kysely } from "kysely";
import { JobState } from "../../actors/domain/states.ts";
import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { addDeviceType, updateDeviceType } from "./device_types.ts";
import { addDevice } from "./devices.ts";
import { appendLogLines } from "./job_logs.ts";
import { purgeable, purgeJobs } from "./retention.ts";
import type { Database } from "./schema.ts";
import { addUser } from "./users.ts";
import { addWorker } from "./workers.ts";

const DAY = 86_400_000;

interface JobShape {
  readonly type?: string;
  readonly endedDaysAgo?: number;
  readonly group?: string;
  readonly running?: boolean;
}

/** A job with a log, results, history, a tag, a viewing group and a webhook delivery: everything a purge removes. */
async function job(db: Kysely<Database>, submitter: number, shape: JobShape = {}): Promise<number> {
  const { id } = await db.insertInto("test_jobs").values({
    definition: "job_name: old",
    submitter_id: submitter,
    requested_device_type: shape.type ?? "qemu",
    target_group: shape.group ?? null,
    state: shape.running ? JobState.byName.Running : JobState.byName.Finished,
    end_time: shape.running ? null : new Date(Date.now() - (shape.endedDaysAgo ?? 40) * DAY),
  }).returning("id").executeTakeFirstOrThrow();
  await appendLogLines(db, id, [{ line: 0, dt: new Date(), lvl: "info", msg: "start" }]);
  const suite = await db.insertInto("test_suites").values({ job_id: id, name: "lava" }).returning("id")
    .executeTakeFirstOrThrow();
  await db.insertInto("test_cases").values({ suite_id: suite.id, name: "job", result: 0, metadata: null }).execute();
  await db.insertInto("test_job_tags").values({ job_id: id, tag: "usb" }).execute();
  await db.insertInto("webhook_deliveries").values({ job_id: id, url: "http://127.0.0.1:9/", body: "{}" }).execute();
  await db.insertInto("actor_events").values({
    actor_kind: "job",
    actor_id: String(id),
    sequence: 0,
    event_type: "submit",
    state_after: "Submitted",
  }).execute();
  return id;
}

async function lab(db: Kysely<Database>): Promise<number> {
  const user = await addUser(db, { username: "ann" });
  await addWorker(db, { hostname: "w1" });
  await addDeviceType(db, { name: "qemu" });
  await addDeviceType(db, { name: "bbb" });
  await addDevice(db, { hostname: "qemu01", deviceType: "qemu", worker: "w1" });
  await db.insertInto("tags").values({ name: "usb" }).execute();
  return user.id;
}

/** Rows anywhere that still name a job not in test_jobs. */
async function orphans(db: Kysely<Database>): Promise<number> {
  const jobs = new Set((await db.selectFrom("test_jobs").select("id").execute()).map((r) => r.id));
  const named = [
    ...(await db.selectFrom("job_log_lines").select("job_id").execute()).map((r) => r.job_id),
    ...(await db.selectFrom("test_suites").select("job_id").execute()).map((r) => r.job_id),
    ...(await db.selectFrom("test_job_tags").select("job_id").execute()).map((r) => r.job_id),
    ...(await db.selectFrom("webhook_deliveries").select("job_id").execute()).map((r) => r.job_id),
    ...(await db.selectFrom("actor_events").select("actor_id").where("actor_kind", "=", "job").execute())
      .map((r) => Number(r.actor_id)),
  ];
  const cases = await db.selectFrom("test_cases").leftJoin("test_suites", "test_suites.id", "test_cases.suite_id")
    .select("test_suites.id").where("test_suites.id", "is", null).execute();
  return named.filter((id) => !jobs.has(id)).length + cases.length;
}

testOnBothBackends("purging old jobs", [
  {
    name: "jobs older than their type's retention go whole, leaving no row behind and newer jobs untouched",
    async fn(fx) {
      const { db } = await fx.open();
      const ann = await lab(db);
      await updateDeviceType(db, "bbb", { retentionDays: 100 });
      const old = await job(db, ann, { endedDaysAgo: 40 });
      const recent = await job(db, ann, { endedDaysAgo: 5 });
      const keptByType = await job(db, ann, { type: "bbb", endedDaysAgo: 40 });
      const running = await job(db, ann, { running: true });
      const ids = await purgeable(db, { retention: { defaultDays: 30 } }, 100);
      assertEquals(ids, [old]);
      assertEquals(await purgeJobs(db, ids), 1);
      const left = (await db.selectFrom("test_jobs").select("id").orderBy("id").execute()).map((r) => r.id);
      assertEquals(left, [recent, keptByType, running]);
      assertEquals(await orphans(db), 0);
      assertEquals(await purgeable(db, { retention: { defaultDays: null } }, 100), [], "no default keeps everything");
    },
  },
  {
    name: "a MultiNode job goes only with its whole group, and a device's last health check stays",
    async fn(fx) {
      const { db } = await fx.open();
      const ann = await lab(db);
      const a = await job(db, ann, { group: "g1" });
      await job(db, ann, { group: "g1", endedDaysAgo: 1 });
      const c = await job(db, ann, { group: "g2" });
      const d = await job(db, ann, { group: "g2" });
      const check = await job(db, ann);
      await db.updateTable("devices").set({ last_health_report_job: check }).execute();
      assertEquals(await purgeable(db, { olderThanDays: 30 }, 100), [c, d]);
      assertEquals(await purgeable(db, { ids: [a, check] }, 100), [], "half a group, a last health check");
    },
  },
  {
    name: "the log and history stay append-only outside a purge",
    async fn(fx) {
      const { db } = await fx.open();
      const ann = await lab(db);
      const id = await job(db, ann);
      await assertRejects(
        () => db.deleteFrom("job_log_lines").where("job_id", "=", id).execute(),
        Error,
        "append-only",
      );
      await assertRejects(() => db.deleteFrom("actor_events").execute(), Error, "append-only");
      await assertRejects(
        () => db.updateTable("job_log_lines").set({ level: "x" }).execute(),
        Error,
        "append-only",
      );
      await assertRejects(
        () =>
          db.insertInto("admin_changes").values({ username: "a", object_kind: "x", object_name: "y", summary: "" })
            .execute().then(() => db.deleteFrom("admin_changes").execute()),
        Error,
        "append-only",
      );
    },
  },
]);
