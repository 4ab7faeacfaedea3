import { assertEquals } from "../../tests/support/assert.ts";
import { textTable } from "./text_table.ts";

Deno.test("a text table pads columns to the widest cell and marks empty cells", () => {
  assertEquals(
    textTable(["hostname", "tags", "last ping"], [
      ["qemu01", ["a", "b"], null],
      ["bbb-01-long", [], new Date("2026-01-02T03:04:05.678Z")],
    ]),
    [
      "hostname     tags  last ping",
      "qemu01       a,b   -",
      "bbb-01-long  -     2026-01-02T03:04:05Z",
    ].join("\n"),
  );
});
