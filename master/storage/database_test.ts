import { type Kysely, sql } from "kysely";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { MigrationError, openStorage, StorageError } from "./database.ts";
import { MIGRATIONS } from "./migrations/mod.ts";
import { addUser, findUser } from "./users.ts";
import { addWorker, listWorkers } from "./workers.ts";
import { startCluster } from "../../tests/support/postgres.ts";

const tableExists = async (db: Kysely<unknown>, name: string) =>
  (await sql<{ found: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS found`.execute(db)).rows[0].found;

testOnBothBackends("opening storage", [
  {
    name: "a new database gets every migration, a reopened one none",
    async fn(fx) {
      const target = await fx.newTarget();
      const first = await fx.openAt(target);
      assertEquals(first.applied, Object.keys(MIGRATIONS));
      await first.close();
      const second = await fx.openAt(target);
      assertEquals(second.applied, []);
    },
  },
  {
    name: "rows survive closing and reopening",
    async fn(fx) {
      const target = await fx.newTarget();
      const first = await fx.openAt(target);
      await addUser(first.db, { username: "admin", superuser: true });
      await addWorker(first.db, { hostname: "worker-1" });
      await first.close();
      const second = await fx.openAt(target);
      assertEquals((await findUser(second.db, "admin"))?.is_superuser, true);
      assertEquals((await listWorkers(second.db)).map((w) => w.hostname), ["worker-1"]);
    },
  },
  {
    name: "a migration that fails halfway leaves the database usable at its previous version",
    async fn(fx) {
      const target = await fx.newTarget();
      const first = await fx.openAt(target);
      await addUser(first.db, { username: "kept" });
      await first.close();
      const broken = {
        ...MIGRATIONS,
        "0999_broken": {
          async up(db: Kysely<unknown>) {
            await sql`CREATE TABLE half_done (x integer)`.execute(db);
            await sql`ALTER TABLE users ADD COLUMN shoe_size integer`.execute(db);
            await sql`SELECT * FROM no_such_table`.execute(db);
          },
        },
      };
      const error = await assertRejects(() => fx.openAt(target, { migrations: broken }), MigrationError);
      assertEquals(error.migration, "0999_broken");
      assertStringIncludes(error.message, "no_such_table");
      assertStringIncludes(error.message, `still at ${Object.keys(MIGRATIONS).at(-1)}`);
      const again = await fx.openAt(target);
      assertEquals(again.applied, []);
      assert(
        !(await tableExists(again.db as Kysely<unknown>, "half_done")),
        "the failed migration's table must be gone",
      );
      assertEquals((await findUser(again.db, "kept"))?.username, "kept");
      const columns = await sql<{ column_name: string }>`
        SELECT column_name FROM information_schema.columns WHERE table_name = 'users'`.execute(again.db);
      assert(!columns.rows.some((c) => c.column_name === "shoe_size"));
    },
  },
  {
    name: "a database written by a newer Basalt is refused with a clear message",
    async fn(fx) {
      const target = await fx.newTarget();
      const newer = {
        ...MIGRATIONS,
        "0998_future": { async up() {} },
      };
      await (await fx.openAt(target, { migrations: newer })).close();
      const error = await assertRejects(() => fx.openAt(target), StorageError);
      assertStringIncludes(error.message, "0998_future");
      assertStringIncludes(error.message, "newer Basalt");
    },
  },
  {
    name: "log lines and actor events cannot be updated or deleted",
    async fn(fx) {
      const { db } = await fx.open();
      const user = await addUser(db, { username: "u" });
      const job = await db.insertInto("test_jobs").values({ definition: "x", submitter_id: user.id })
        .returning("id").executeTakeFirstOrThrow();
      await sql`INSERT INTO job_log_lines VALUES (${job.id}, 0, now(), 'info', '"hello"')`.execute(db);
      await sql`INSERT INTO actor_events (actor_kind, actor_id, sequence, event_type, state_after)
                VALUES ('device', 'qemu01', 0, 'init', 'Idle')`.execute(db);
      for (
        const statement of [
          sql`UPDATE job_log_lines SET message = '"rewritten"'`,
          sql`DELETE FROM job_log_lines`,
          sql`UPDATE actor_events SET state_after = 'Bad'`,
          sql`DELETE FROM actor_events`,
        ]
      ) {
        const error = await assertRejects(() => statement.execute(db));
        assertStringIncludes(error.message, "append-only");
      }
      const line = await db.selectFrom("job_log_lines").select("message").executeTakeFirstOrThrow();
      assertEquals(line.message, '"hello"');
    },
  },
]);

Deno.test("an unreachable PostgreSQL server gives an error naming it, without its password", async () => {
  const error = await assertRejects(
    () => openStorage({ kind: "postgres", url: "postgres://basalt:secret@127.0.0.1:1/lab" }),
    StorageError,
  );
  assertStringIncludes(error.message, "cannot connect to PostgreSQL at postgres://basalt:***@127.0.0.1:1/lab");
  assert(!error.message.includes("secret"));
});

Deno.test("a server restart under a transaction fails that transaction and the pool goes on working", async () => {
  const cluster = await startCluster({ durable: true });
  const storage = await openStorage({ kind: "postgres", url: cluster.url });
  try {
    let started!: () => void;
    const inTransaction = new Promise<void>((resolve) => started = resolve);
    const held = storage.db.transaction().execute(async (trx) => {
      await sql`SELECT 1`.execute(trx);
      started();
      // Held between two statements while the server goes away: its client errors with no query running.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await sql`SELECT 2`.execute(trx);
    });
    await inTransaction;
    await cluster.restart(true);
    await assertRejects(() => held);
    await addUser(storage.db, { username: "after-restart" });
    assert(await findUser(storage.db, "after-restart"));
  } finally {
    await storage.close().catch(() => {});
    await cluster.stop();
  }
});
