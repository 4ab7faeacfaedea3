import { assert, assertEquals } from "../../tests/support/assert.ts";
import { isProblem } from "../mailbox/protocol.ts";
import { labProtocol, parseWorkerSummary } from "./protocol.ts";

const parse = (kind: keyof typeof labProtocol.parsers, body: unknown) => labProtocol.parsers[kind](body);

Deno.test("a job start carries the definition and the rendered device and nothing malformed passes", () => {
  assertEquals(parse("job.start", { job: "12", definition: "a: 1", device: "b: 2", extra: true }), {
    job: "12",
    definition: "a: 1",
    device: "b: 2",
  });
  assertEquals(
    (parse("job.start", { job: "12.1", definition: "a", device: "b", envDut: "c" }) as { envDut?: string }).envDut,
    "c",
  );
  for (
    const bad of [
      null,
      [],
      { job: 12, definition: "a", device: "b" },
      { job: "12; rm -rf /", definition: "a", device: "b" },
      { job: "../12", definition: "a", device: "b" },
      { job: "12", device: "b" },
      { job: "12", definition: "a", device: 3 },
      { job: "12", definition: "a", device: "b", dispatcher: {} },
    ]
  ) assert(isProblem(parse("job.start", bad)), JSON.stringify(bad));
});

Deno.test("log batches must be numbered lists of LAVA records", () => {
  const ok = parse("job.log", { job: "3", from: 7, lines: [{ dt: "x", lvl: "target", msg: "hello" }] });
  assertEquals(ok, { job: "3", from: 7, lines: [{ dt: "x", lvl: "target", msg: "hello" }] });
  assert(isProblem(parse("job.log", { job: "3", from: -1, lines: [] })));
  // Past what the database's line numbers hold: it could never be stored.
  assert(isProblem(parse("job.log", { job: "3", from: 2 ** 31, lines: [] })));
  assert(isProblem(parse("job.log", { job: "3", from: 0, lines: [{ dt: "x", lvl: "shout", msg: "" }] })));
  assert(isProblem(parse("job.log", { job: "3", from: 0, lines: Array(1001).fill({ dt: "x", lvl: "info" }) })));
});

Deno.test("a job end says pass or fail and keeps the error type", () => {
  assertEquals(parse("job.finished", { job: "4", result: "fail", errorType: "Infrastructure", errorMsg: "gone" }), {
    job: "4",
    result: "fail",
    errorType: "Infrastructure",
    errorMsg: "gone",
  });
  assert(isProblem(parse("job.finished", { job: "4", result: "maybe" })));
});

Deno.test("an unreadable worker summary is read as an empty one", () => {
  assertEquals(parseWorkerSummary("garbage"), { version: "unknown", jobLimit: 0, running: [] });
  assertEquals(parseWorkerSummary({ version: "1", jobLimit: 2, running: ["1", 2, "../x"] }), {
    version: "1",
    jobLimit: 2,
    running: ["1"],
  });
});
