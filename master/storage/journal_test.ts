import { sql, type Transaction } from "kysely";
import { emptyBatch } from "../../actors/runtime/journal.ts";
import { assertEquals } from "../../tests/support/assert.ts";
import { JOURNAL_CASES } from "../../tests/support/journal_contract.ts";
import { type StorageCase, testOnBothBackends } from "../../tests/support/storage.ts";
import { sqlState } from "./errors.ts";
import { refusable, statementWork, StorageJournal } from "./journal.ts";
import type { Database } from "./schema.ts";

testOnBothBackends("the master's database journal keeps its promises", [
  ...JOURNAL_CASES.map((c): StorageCase => ({
    name: c.name,
    async fn(fx) {
      const { db } = await fx.open();
      const factory = {
        reopen: () => StorageJournal.open(db),
        // A brand-new database (not a copy of the test template, which shares its epoch).
        fresh: async () => StorageJournal.open((await fx.openAt(await fx.newTarget())).db),
        failingWork: async (trx: Transaction<Database>) => {
          await sql`INSERT INTO no_such_table VALUES (1)`.execute(trx);
        },
      };
      await c.fn(factory);
    },
  })),
  {
    name: "a write refused for its values is left out alone: the rest of its batch lands and its owner learns why",
    async fn(fx) {
      const { db } = await fx.open();
      const unowned: unknown[] = [];
      const journal = await StorageJournal.open(db, { onRefused: (error) => unowned.push(error) });
      const owned: unknown[] = [];
      const addUser = (username: string) => async (trx: Transaction<Database>) => {
        await trx.insertInto("users").values({ username }).execute();
      };
      await journal.commit({
        ...emptyBatch<Transaction<Database>>(),
        links: [{ peer: "w-refused", nextSeq: 1, peerEpoch: null, delivered: 3 }],
        // An actor's state may hold what a peer said: it is stored with NUL replaced, not refused.
        snapshots: [{ kind: "job", id: "1", sequence: 1, snapshot: { errorMsg: "a\u0000b\ud800" } }],
        work: [
          addUser("before"),
          refusable(addUser("nul\u0000"), (error) => owned.push(error)),
          async (trx) => void await sql`SELECT ${"1e20"}::numeric(30, 10)`.execute(trx),
          addUser("after"),
        ],
      });
      const users = await db.selectFrom("users").select("username").orderBy("username").execute();
      assertEquals(users.map((u) => u.username), ["after", "before"]);
      assertEquals(owned.map(sqlState), ["22021"]);
      assertEquals(unowned.map(sqlState), ["22003"]);
      const stored = await journal.load();
      assertEquals(stored.links.find((l) => l.peer === "w-refused")?.delivered, 3);
      assertEquals(stored.snapshots.find((r) => r.id === "1")?.snapshot, { errorMsg: "a\uFFFDb\uFFFD" });
    },
  },
  {
    name: "one-statement writes land with the batch's own rows, and one refused is left out alone",
    async fn(fx) {
      const { db } = await fx.open();
      const journal = await StorageJournal.open(db);
      const addUser = (username: string, refused: (error: unknown) => void = () => {}) =>
        statementWork({ statement: sql`INSERT INTO users (username) VALUES (${username})`, parameters: 1 }, refused);
      await journal.commit({
        ...emptyBatch<Transaction<Database>>(),
        links: [{ peer: "w-one", nextSeq: 1, peerEpoch: null, delivered: 7 }],
        work: [addUser("one"), addUser("two")],
      });
      const owned: unknown[] = [];
      await journal.commit({
        ...emptyBatch<Transaction<Database>>(),
        links: [{ peer: "w-one", nextSeq: 1, peerEpoch: null, delivered: 8 }],
        work: [addUser("three"), addUser("nul\u0000", (error) => owned.push(error)), addUser("four")],
      });
      const users = await db.selectFrom("users").select("username").orderBy("username").execute();
      assertEquals(users.map((u) => u.username), ["four", "one", "three", "two"]);
      assertEquals(owned.map(sqlState), ["22021"]);
      assertEquals((await journal.load()).links.find((l) => l.peer === "w-one")?.delivered, 8);
    },
  },
]);
