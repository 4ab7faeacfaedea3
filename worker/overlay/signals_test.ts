import { assertEquals } from "../../tests/support/assert.ts";
import { JobLog, type LogRecord } from "../job/log.ts";
import { SignalInterpreter } from "./signals.ts";

function interpreter(): { signals: SignalInterpreter; results: () => Record<string, unknown>[] } {
  const records: LogRecord[] = [];
  const signals = new SignalInterpreter(new JobLog([(r) => records.push(r)]), new Map());
  return { signals, results: () => records.filter((r) => r.lvl === "results").map((r) => r.msg as never) };
}

Deno.test("test case names with control characters are escaped, long ones cut, and the case says so", () => {
  const { signals, results } = interpreter();
  signals.handle("STARTRUN", "0_t uuid", 1);
  signals.handle("TESTCASE", "TEST_CASE_ID=nul\0here\x1b[31m RESULT=pass", 2);
  signals.handle("TESTCASE", `TEST_CASE_ID=${"x".repeat(5000)} RESULT=fail`, 3);
  const [nul, long] = results();
  assertEquals(nul.case, "nul\\x00here\\x1b[31m");
  assertEquals(String(nul.error_msg).includes("control characters"), true);
  assertEquals((long.case as string).length, 100);
  assertEquals(long.result, "fail");
});

Deno.test("measurements that are not finite numbers, or absurd ones, are not reported as measurements", () => {
  const { signals, results } = interpreter();
  for (const m of ["NaN", "Infinity", "-1e400", "0x10", "1e20", "12.5"]) {
    signals.handle("TESTCASE", `TEST_CASE_ID=m RESULT=pass MEASUREMENT=${m} UNITS=${"u".repeat(500)}`, 1);
  }
  const got = results().map((r) => [r.measurement ?? null, r.result, (r.units as string | undefined)?.length ?? 0]);
  assertEquals(got.slice(0, 5).map((g) => g[0]), [null, null, null, null, null]);
  assertEquals(got.slice(0, 5).map((g) => g[1]), ["fail", "fail", "fail", "fail", "fail"]);
  assertEquals(got[5], [12.5, "pass", 100]);
});

Deno.test("a device opening test cases it never closes keeps a bounded number of them", () => {
  const { signals } = interpreter();
  for (let i = 0; i < 100_000; i++) signals.handle("STARTTC", `case-${i}`, i);
  assertEquals(signals.openCases <= 10_000, true);
});

Deno.test("signals with missing fields are ignored, not thrown on", () => {
  const { signals, results } = interpreter();
  signals.handle("TESTREFERENCE", " ", 1);
  signals.handle("TESTSET", " ", 2);
  signals.handle("ENDRUN", " ", 3);
  signals.handle("STARTRUN", " ", 4);
  assertEquals(results().every((r) => typeof r.case === "string" && r.case !== ""), true);
});
