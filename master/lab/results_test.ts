import type { Kysely } from "kysely";
import { assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
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
  {
    name: "names are escaped and cut, a measurement the table cannot hold fails its case, and the rest is stored",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      let deep: unknown = "bottom";
      for (let i = 0; i < 100_000; i++) deep = [deep];
      const long = "s".repeat(5000);
      const msgs: Record<string, unknown>[] = [
        { definition: "0_nul\u0000", case: "a\u0000b", result: "pass", units: "M\u0000B", set: "set\u001b[0m" },
        { definition: `${long}1`, case: "lone \ud800", result: "pass", measurement: "1e20" },
        { definition: `${long}2`, case: "c".repeat(300), result: "pass", measurement: "NaN" },
        { definition: "0_perf", case: "inf", result: "pass", measurement: "Infinity" },
        { definition: "0_perf", case: "number", result: "pass", measurement: 1e300 },
        { definition: "0_perf", case: "tiny", result: "pass", measurement: "1e-2000" },
        { definition: "0_perf", case: "deep", result: "pass", extra: deep },
        { definition: "0_perf", case: "huge", result: "skip", extra: "x".repeat(100_000) },
        { definition: "0_perf", case: "fine", result: "pass", measurement: "-12.5e3", units: "MB/s" },
        { definition: "0_perf", case: "edge", result: "pass", measurement: "+.5" },
      ];
      await db.transaction().execute((trx) => storeResults(trx, job, msgs.map((msg, line) => ({ line, msg }))));
      const got = await exportCases(db, job);
      const row = (c: (typeof got)[number]) => [c.suite.length, c.name, c.result, c.measurement, c.unit];
      assertEquals(got.map(row), [
        [9, "a\\x00b", "pass", "None", "M\\x00B"],
        [200, "lone \uFFFD", "fail", "None", ""],
        [200, "c".repeat(100), "fail", "None", ""],
        [6, "inf", "fail", "None", ""],
        [6, "number", "fail", "None", ""],
        [6, "tiny", "fail", "None", ""],
        [6, "deep", "pass", "None", ""],
        [6, "huge", "skip", "None", ""],
        [6, "fine", "pass", "-12500", "MB/s"],
        [6, "edge", "pass", "0.5", ""],
      ]);
      // The two long suite names are one suite once cut, as LAVA's column would make them.
      assertEquals((await db.selectFrom("test_suites").select("name").where("job_id", "=", job).execute()).length, 3);
      const sets = await db.selectFrom("test_sets").select("name").execute();
      assertEquals(sets.map((s) => s.name), ["set\\x1b[0m"]);
      const errors = Object.fromEntries(got.map((c) => [c.name, String(c.metadata.error_msg ?? "")]));
      assertStringIncludes(errors["a\\x00b"], "case name control or unpaired characters escaped");
      assertStringIncludes(
        errors["lone \uFFFD"],
        'measurement "1e20" is not a decimal number below 100000000000000000000',
      );
      assertStringIncludes(errors["c".repeat(100)], "case name cut to 100 characters");
      assertStringIncludes(errors.deep, "metadata nested deeper than 16 levels was cut");
      assertStringIncludes(errors.huge, "metadata over 16384 characters was cut");
      assertEquals(errors.fine, "");
      assertEquals(got[0].metadata.case, "a\uFFFDb");
    },
  },
]);
