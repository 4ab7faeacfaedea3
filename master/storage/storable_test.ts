import { sql } from "kysely";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { isRefusedValue, nestsDeeperThan, storableJson, storableText, storableTime } from "./storable.ts";

const HOSTILE = ["nul \u0000 here", "lone \ud800 high", "lone \udc00 low", "pair \ud83d\ude00 kept", "bell \u0007"];

Deno.test("text keeps everything but NUL and unpaired surrogates, which become U+FFFD", () => {
  assertEquals(HOSTILE.map(storableText), [
    "nul \uFFFD here",
    "lone \uFFFD high",
    "lone \uFFFD low",
    "pair \ud83d\ude00 kept",
    "bell \u0007",
  ]);
});

Deno.test("JSON keeps escaped backslashes and replaces only real NUL and unpaired escapes, in keys too", () => {
  const value = { ["k\u0000"]: "\\u0000 is text", v: "\\\u0000", w: "\ud800\\ud800", n: NaN };
  assertEquals(JSON.parse(storableJson(value)), {
    ["k\uFFFD"]: "\\u0000 is text",
    v: "\\\uFFFD",
    w: "\uFFFD\\ud800",
    n: null,
  });
  assertEquals(storableJson(undefined), "null");
});

Deno.test("nesting is measured without walking past the limit", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert(nestsDeeperThan(deep, 16));
  assert(!nestsDeeperThan({ a: { b: [1, 2, { c: 3 }] } }, 4));
  assert(nestsDeeperThan({ a: { b: [1, 2, { c: 3 }] } }, 3));
});

Deno.test("a log time the database cannot take becomes the time it was stored; one without a zone is UTC", () => {
  const now = new Date("2026-12-01T00:00:00Z");
  const given = [
    "2026-11-26T10:00:00.123456Z",
    "2026-11-26T10:00:00.123456",
    "2026-11-26T12:00:00+02:00",
    "2026-02-30T10:00:00Z",
    "infinity",
    "300000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "x",
  ];
  assertEquals(given.map((dt) => storableTime(dt, now)), [
    "2026-11-26T10:00:00.123456Z",
    "2026-11-26T10:00:00.123Z",
    "2026-11-26T10:00:00.000Z",
    "2026-03-02T10:00:00.000Z",
    now.toISOString(),
    now.toISOString(),
    now.toISOString(),
    now.toISOString(),
  ]);
});

testOnBothBackends("storable values", [
  {
    name: "the database takes what was made storable, and refuses the raw values for their content",
    async fn(fx) {
      const { db } = await fx.open();
      for (const raw of HOSTILE) {
        const text = await sql<{ v: string }>`SELECT ${storableText(raw)}::text AS v`.execute(db);
        assertEquals(text.rows[0].v, storableText(raw));
        const json = await sql<{ v: unknown }>`SELECT ${storableJson({ [raw]: raw })}::jsonb AS v`.execute(db);
        assertEquals(json.rows[0].v, { [storableText(raw)]: storableText(raw) });
      }
      for (
        const refused of [
          sql`SELECT ${"a\u0000"}::text`,
          sql`SELECT ${JSON.stringify({ a: "\u0000" })}::jsonb`,
          sql`SELECT ${"1e20"}::numeric(30, 10)`,
        ]
      ) {
        const error = await refused.execute(db).then(() => undefined, (e) => e);
        assert(isRefusedValue(error), `refused for its value: ${error}`);
      }
      const missing = await sql`SELECT * FROM no_such_table`.execute(db).then(() => undefined, (e) => e);
      assert(!isRefusedValue(missing), "a bug in the master's SQL is not a refused value");
    },
  },
]);
