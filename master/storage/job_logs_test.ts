import type { Kysely } from "kysely";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { appendLogLines, countLogLines, type LogRecord, readLogLines } from "./job_logs.ts";
import type { Database } from "./schema.ts";
import { addUser } from "./users.ts";

async function newJob(db: Kysely<Database>): Promise<number> {
  const user = await addUser(db, { username: `u${crypto.randomUUID().slice(0, 8)}` });
  const row = await db.insertInto("test_jobs").values({ definition: "job_name: t", submitter_id: user.id })
    .returning("id").executeTakeFirstOrThrow();
  return row.id;
}

const at = new Date("2026-11-26T10:00:00.123Z");
const records = (from: number, to: number): LogRecord[] =>
  Array.from({ length: to - from }, (_, i) => ({ line: from + i, dt: at, lvl: "target", msg: `line ${from + i}` }));

testOnBothBackends("job logs", [
  {
    name: "records come back in order with their levels and messages, results as mappings",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      await appendLogLines(db, job, [
        { line: 0, dt: at, lvl: "info", msg: "start: 0 validate" },
        { line: 1, dt: at, lvl: "results", msg: { definition: "lava", case: "job", result: "pass" } },
        { line: 2, dt: at.toISOString(), lvl: "target", msg: 'ünïcode \u0007 and "quotes"' },
      ]);
      const back = await readLogLines(db, job);
      assertEquals(back.map((r) => [r.line, r.lvl, r.msg]), [
        [0, "info", "start: 0 validate"],
        [1, "results", { definition: "lava", case: "job", result: "pass" }],
        [2, "target", 'ünïcode \u0007 and "quotes"'],
      ]);
      assertEquals(back[0].dt.toISOString(), at.toISOString());
    },
  },
  {
    name: "a retransmitted batch lands once",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      assertEquals(await appendLogLines(db, job, records(0, 100)), 100);
      assertEquals(await appendLogLines(db, job, records(50, 150)), 50);
      assertEquals(await countLogLines(db, job), 150);
    },
  },
  {
    name: "a log can be read from any line while it grows",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      await appendLogLines(db, job, records(0, 10));
      assertEquals((await readLogLines(db, job, { start: 7 })).map((r) => r.line), [7, 8, 9]);
      await appendLogLines(db, job, records(10, 12));
      assertEquals((await readLogLines(db, job, { start: 7, end: 11 })).map((r) => r.line), [7, 8, 9, 10]);
      assertEquals((await readLogLines(db, job, { start: 3, limit: 2 })).map((r) => r.line), [3, 4]);
    },
  },
  {
    name: "a batch of 10,000 lines is stored in one call",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      assertEquals(await appendLogLines(db, job, records(0, 10_000)), 10_000);
      assertEquals(await countLogLines(db, job), 10_000);
    },
  },
  {
    name: "messages with NUL and unpaired surrogates come back as sent; times the database cannot take become now",
    async fn(fx) {
      const { db } = await fx.open();
      const job = await newJob(db);
      const before = Date.now();
      await appendLogLines(db, job, [
        { line: 0, dt: "2026-02-30T10:00:00Z", lvl: "target", msg: "nul \u0000 lone \ud800" },
        { line: 1, dt: "infinity", lvl: "results", msg: { ["k\u0000"]: "v\u0000" } },
        { line: 2, dt: "300000-01-01T00:00:00Z", lvl: "target", msg: "x" },
        { line: 3, dt: "not a time", lvl: "target", msg: "y" },
      ]);
      const back = await readLogLines(db, job);
      assertEquals(back.map((r) => r.msg), ["nul \u0000 lone \ud800", { ["k\u0000"]: "v\u0000" }, "x", "y"]);
      assertEquals(back[0].dt.toISOString(), "2026-03-02T10:00:00.000Z");
      for (const r of back.slice(1)) assert(r.dt.getTime() >= before - 1000, `line ${r.line} is stamped now`);
    },
  },
]);
