import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobLog, type LogRecord } from "../job/log.ts";
import { Console, ConsoleClosed, ExpectTimeout, MAX_LINE } from "./console.ts";
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

/** A transport fed by the test, one chunk at a time. */
function fedTransport() {
  let feed!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
  return {
    transport: { readable, write: () => Promise.resolve(), close: () => Promise.resolve(feed.close()) },
    push: (text: string) => feed.enqueue(new TextEncoder().encode(text)),
    end: () => feed.close(),
  };
}

Deno.test("a device flooding megabytes without a newline is logged in bounded lines, every byte once, in bounded memory", async () => {
  const { log, records } = logged();
  const { transport, push, end } = fedTransport();
  let held = 0;
  const console: Console = new Console(transport, log, {
    flushIdleMs: 60_000,
    onOutput: () => held = Math.max(held, console.heldChars),
  });
  const waiting = console.expect(["END-MARK"], 60_000);
  const chunk = "0123456789abcdef".repeat(4096); // 64 KiB
  for (let i = 0; i < 64; i++) push(chunk); // 4 MiB, no newline
  push("END-MARK\r\nafter\n");
  end();
  const match = await waiting;
  await console.done;
  const lines = records.filter((r) => r.lvl === "target").map((r) => r.msg as string);
  // Every logged line fits a log record; none was replaced; nothing was lost or repeated.
  assertEquals(lines.every((l) => l.length <= 16 * 1024), true);
  assertEquals(lines.join(""), chunk.repeat(64) + "END-MARK" + "after");
  assertEquals(lines.at(-1), "after");
  // What is kept for matching and for the pending line stays bounded while the flood lasts.
  assertEquals(held <= 2 * 256 * 1024 + 64 * 1024, true, `held ${held} characters`);
  assertEquals(match.before.length <= 256 * 1024, true);
});

Deno.test("a pattern split across chunks is still found, and ^ keeps its meaning in a later chunk", async () => {
  const { log } = logged();
  const { transport, push, end } = fedTransport();
  const console = new Console(transport, log);
  const first = console.expect([/^login: /m], 5000);
  push("x".repeat(100_000) + " login: no\nlog");
  await new Promise((r) => setTimeout(r, 10));
  push("in: ");
  assertEquals((await first).before.endsWith(" login: no\n"), true);
  const second = console.expect(["<LAVA_SIGNAL_ENDRUN 0_a uuid>"], 5000);
  for (const piece of ["<LAVA_SIG", "NAL_END", "RUN 0_a", " uuid>"]) {
    push(piece);
    await new Promise((r) => setTimeout(r, 5));
  }
  await second;
  end();
  await console.done;
});

Deno.test("a single chunk larger than the search window is matched in what is kept of it", async () => {
  const { log } = logged();
  const { transport, push, end } = fedTransport();
  const console = new Console(transport, log);
  const waiting = console.expect(["MARK"], 5000);
  push("y".repeat(600 * 1024) + "MARK");
  const match = await waiting;
  assertEquals(match.before.length, 256 * 1024 - 4);
  end();
  await console.done;
});

Deno.test("a console line with no end is logged in MAX_LINE pieces and never held whole", async () => {
  const { log, records } = logged();
  const size = MAX_LINE * 4 + 10;
  const console = new Console(
    processConsole(["sh", "-c", `head -c ${size} /dev/zero | tr '\\0' 'x'; printf '\\nEND\\n'`]),
    log,
  );
  try {
    await console.expect(["END"], 5000);
  } finally {
    await console.close();
  }
  const target = records.filter((r) => r.lvl === "target").map((r) => String(r.msg));
  assertEquals(target.slice(0, 5).map((l) => l.length), [MAX_LINE, MAX_LINE, MAX_LINE, MAX_LINE, 10]);
  assertEquals(target.slice(0, 5).join("").length, size);
});

Deno.test("typing waits for each character's echo, so a device that loses what comes while it is busy gets the whole line", async () => {
  // Like firmware polling its UART: one character taken, a while busy, anything that arrived meanwhile lost.
  const device = `
    got=""
    while IFS= read -r -N1 -t 1 c; do
      [ "$c" = $'\\n' ] && break
      sleep 0.02
      while IFS= read -r -N1 -t 0.001 lost; do :; done
      printf '%s' "$c"; got="$got$c"
    done
    printf '\\n[%s]\\n' "$got"`;
  const line = "kernel tftp://10.0.2.2/vmlinuz console=ttyS0";
  for (const paced of [true, false]) {
    const { log, records } = logged();
    const console = new Console(processConsole(["bash", "-c", device]), log);
    try {
      if (paced) await console.typeLine(line);
      else await console.sendLine(line);
      const answer = await console.expect([/\[(.*)\]/], 5000);
      if (paced) assertEquals(answer.match[1], line);
      else assertEquals(answer.match[1] === line, false, "typed all at once, the device lost characters");
      assertEquals(records.filter((r) => r.lvl === "input").map((r) => r.msg), [line]);
    } finally {
      await console.close();
    }
  }
});

Deno.test("a device that echoes nothing is typed to at the configured pace after three characters", async () => {
  const { log, records } = logged();
  const console = new Console(processConsole(["bash", "-c", `IFS= read -r line; echo "[$line]"; read -r more`]), log);
  try {
    const started = performance.now();
    await console.typeLine("abcdefgh", { delayMs: 5, echoTimeoutMs: 100 });
    const elapsed = performance.now() - started;
    assertEquals((await console.expect([/\[(.*)\]/], 5000)).match[1], "abcdefgh");
    // Three characters wait for an echo that never comes; the other five go at 5 ms.
    assertEquals(elapsed >= 300 && elapsed < 1500, true, `${elapsed} ms`);
    assertEquals(records.some((r) => r.lvl === "debug" && String(r.msg).includes("echoes nothing")), true);
    // The device is known not to echo: the next line goes at the configured pace from its first character.
    const next = performance.now();
    await console.typeLine("ijk", { delayMs: 5, echoTimeoutMs: 100 });
    assertEquals(performance.now() - next < 200, true);
  } finally {
    await console.close();
  }
});
