import { sql, type Transaction } from "kysely";
import { JOURNAL_CASES } from "../../tests/support/journal_contract.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { StorageJournal } from "./journal.ts";
import type { Database } from "./schema.ts";

testOnBothBackends(
  "the master's database journal keeps its promises",
  JOURNAL_CASES.map((c) => ({
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
);
