import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobLog, type LogRecord } from "../dispatch/log.ts";
import { Console, ConsoleClosed, ExpectTimeout } from "./console.ts";
import { processConsole } from "./transports.ts";

function logged(): { log: JobLog; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { log: new JobLog([(r) => records.push(r)]), records };
}

Deno.test("a console matches prompts as output arrives and logs every byte once", async () => {
  const { log, records } = logged();
  const script =
    `printf 'boot line 1\\r\\nboot line 2\\n'; printf 'login: '; read user; echo "hello $user"; printf '# '; read x; echo done`;
  const console = new Console(processConsole(["sh", "-c", script]), log);
  try {
    const login = await console.expect(["login: "], 5000);
    assertEquals(login.before, "boot line 1\r\nboot line 2\n");
    await console.sendLine("root");
    await console.expect([/# $/, "never"], 5000);
    await console.sendLine("x");
    await console.expect(["done"], 5000);
  } finally {
    await console.close();
  }
  const target = records.filter((r) => r.lvl === "target").map((r) => r.msg);
  // The prompt is logged when it matches; this process does not echo input as a tty would.
  assertEquals(target, ["boot line 1", "boot line 2", "login: ", "hello root", "# ", "done"]);
  assertEquals(records.filter((r) => r.lvl === "input").map((r) => r.msg), ["root", "x"]);
});

Deno.test("expect gives up after its timeout, and fails at once on a closed console", async () => {
  const { log } = logged();
  const console = new Console(processConsole(["sh", "-c", "echo quiet; sleep 5"]), log);
  try {
    const error = await assertRejects(() => console.expect(["never"], 200), ExpectTimeout);
    assertEquals(error.timeoutMs, 200);
  } finally {
    await console.close();
  }
  await assertRejects(() => console.expect(["anything"], 1000), ConsoleClosed);
});

Deno.test("a partial line is logged after a short silence and not again later", async () => {
  const { log, records } = logged();
  const console = new Console(processConsole(["sh", "-c", "printf 'abc'; sleep 0.3; printf 'def\\n'"]), log, {
    flushIdleMs: 50,
  });
  await console.done;
  assertEquals(records.map((r) => r.msg), ["abc", "def"]);
});

Deno.test("a line matched before its end is logged once, without an empty line after it", async () => {
  const { log, records } = logged();
  const console = new Console(processConsole(["sh", "-c", "printf '<MARK>'; sleep 0.1; printf '\\r\\nnext\\n'"]), log, {
    flushIdleMs: 1000,
  });
  await console.expect(["<MARK>"], 5000);
  await console.done;
  assertEquals(records.map((r) => r.msg), ["<MARK>", "next"]);
});
