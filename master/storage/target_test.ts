import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { describeTarget, StorageOptionsError, storageTargetFrom } from "./target.ts";

Deno.test("without options the embedded database in ./data is used", () => {
  assertEquals(storageTargetFrom({}), { kind: "pglite", dataDir: "./data" });
});

Deno.test("--db selects PostgreSQL and --data-dir the embedded database, never both", () => {
  assertEquals(storageTargetFrom({ db: "postgres://u@h/db" }), { kind: "postgres", url: "postgres://u@h/db" });
  assertEquals(storageTargetFrom({ dataDir: "/srv/lab" }), { kind: "pglite", dataDir: "/srv/lab" });
  assertThrows(() => storageTargetFrom({ dataDir: "d", db: "postgres://h/db" }), StorageOptionsError, "not both");
  assertThrows(() => storageTargetFrom({ db: "mysql://h/db" }), StorageOptionsError, "postgres://");
  assertThrows(() => storageTargetFrom({ db: "not a url" }), StorageOptionsError, "not a URL");
});

Deno.test("a target's description hides the password", () => {
  assertEquals(
    describeTarget({ kind: "postgres", url: "postgres://lab:pw@db:5432/lava" }),
    "PostgreSQL at postgres://lab:***@db:5432/lava",
  );
});
