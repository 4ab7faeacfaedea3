import type { Kysely } from "kysely";
import { assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import type { Database } from "../storage/schema.ts";
import { addUser } from "../storage/users.ts";
import { exportCases, recordJobOutcome, storeResults } from "./results.ts";

async function newJob(db: Kysely<Database>): Promise<number> {
  const user = await addUser(db, { username: `u${crypto.randomUUID().slice(0, 8)}` });
  const row = await db.insertInto("test_jobs").values({ definition: "job_name: t", submitter_id: user.id })
    .returning("id").executeTakeFirstOrThrow();
  return row.id;
}

const cases = async (db: Kysely<Database>, job: number) =>
  (await exportCases(db, job)).map((c) => [c.suite, c.name, c.result, c.metadata?.error_type ?? null]);

testOnBothBackends("job results", [
  {
    name: "a job whose dispatcher never logged its outcome gets lava.job from the master",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      await db.transaction().execute((trx) =>
        storeResults(trx, job, [{ line: 3, msg: { definition: "0_smoke", case: "boot", result: "pass" } }])
      );
      await db.transaction().execute((trx) =>
        recordJobOutcome(trx, job, { result: "fail", errorType: "Infrastructure", errorMsg: "dispatcher gone" })
      );
      assertEquals(await cases(db, job), [
        ["0_smoke", "boot", "pass", null],
        ["lava", "job", "fail", "Infrastructure"],
      ]);
    },
  },
  {
    name: "the dispatcher's own lava.job is kept as it logged it",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      await db.transaction().execute((trx) =>
        storeResults(trx, job, [{ line: 9, msg: { definition: "lava", case: "job", result: "pass" } }])
      );
      await db.transaction().execute((trx) => recordJobOutcome(trx, job, { result: "fail", errorType: "Bug" }));
      assertEquals(await cases(db, job), [["lava", "job", "pass", null]]);
    },
  },
]);
