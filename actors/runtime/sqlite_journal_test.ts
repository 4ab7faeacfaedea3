import type { DatabaseSync } from "node:sqlite";
import { JOURNAL_CASES } from "../../tests/support/journal_contract.ts";
import { assertThrows } from "../../tests/support/assert.ts";
import { DataDirInUseError } from "./dir_lock.ts";
import { SqliteJournal } from "./sqlite_journal.ts";

Deno.test("the SQLite journal keeps its promises", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-journal-" });
  const others: string[] = [];
  try {
    const factory = {
      reopen: () => Promise.resolve(SqliteJournal.open(dir)),
      fresh: async () => {
        const other = await Deno.makeTempDir({ prefix: "basalt-journal-" });
        others.push(other);
        return SqliteJournal.open(other);
      },
      failingWork: (db: DatabaseSync) => {
        db.exec("INSERT INTO no_such_table VALUES (1)");
      },
    };
    for (const c of JOURNAL_CASES) await t.step(c.name, () => c.fn(factory));
  } finally {
    for (const d of [dir, ...others]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("a SQLite journal directory is used by one process at a time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-journal-" });
  const journal = SqliteJournal.open(dir);
  try {
    assertThrows(() => SqliteJournal.open(dir), DataDirInUseError);
  } finally {
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});
