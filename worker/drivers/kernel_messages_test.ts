import { assertEquals } from "../../tests/support/assert.ts";
import { KERNEL_MESSAGES, kernelMessagesResult, kindOf, MAX_KERNEL_MESSAGE, messageText } from "./kernel_messages.ts";

/** The index of the first kind whose start matches `line`, as the console's expect would find it. */
const startOf = (line: string) => KERNEL_MESSAGES.findIndex((k) => k.start.test(line));

Deno.test("each kind of kernel message is told by the line that starts it, in LAVA's order", () => {
  const lines: [string, string][] = [
    ["[    1.0] ------------[ cut here ]------------", "trace"],
    ["[    1.0] Unhandled fault: imprecise external abort (0x1406) at 0x0", "fault"],
    ["[    1.0] BUG: KCSAN: data-race in foo / bar", "kcsan"],
    ["[    1.0] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x1c/0x20", "kasan"],
    ["[    1.0] BUG: KFENCE: use-after-free read in test_use_after_free_read", "kfence"],
    ["[    1.0] Internal error: Oops: 96000004 [#1] PREEMPT SMP", "oops"],
    ["[    1.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo+0x1/0x2", "warning"],
    ["[    1.0] kernel BUG at mm/slub.c:321!", "bug"],
    ["[    1.0] BUG: unable to handle page fault for address: ffff", "bug"],
    ["[    1.0] invalid opcode: 0000 [#1] SMP NOPTI", "invalid opcode"],
    ["[    1.0] Kernel panic - not syncing: VFS: Unable to mount root fs", "panic"],
    ["U-Boot SPL 2024.01 (Jan 01 2024 - 00:00:00 +0000)", "DUT_has_reset"],
  ];
  for (const [line, expected] of lines) {
    const index = startOf(line);
    const kind = KERNEL_MESSAGES[index]?.kind ?? (index >= 0 ? "trace" : "none");
    assertEquals(kind, expected, line);
  }
});

Deno.test("ordinary boot and test output is not a kernel message", () => {
  for (
    const line of [
      "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)",
      "[    1.500000] Run /init as init process",
      "test: the parser must not panic on empty input ... ok",
      "WARNING (not the kernel's) printed by a test script",
      "Bugs fixed: 3",
      "U-Boot 2024.01 (Basalt simulated board)",
    ]
  ) {
    assertEquals(startOf(line), -1, line);
  }
});

Deno.test("only a panic and a board reset end the boot", () => {
  assertEquals(KERNEL_MESSAGES.filter((k) => k.fatal).map((k) => k.kind), ["panic", "DUT_has_reset"]);
});

Deno.test("a trace is named by what it says; other kinds by how they start", () => {
  const trace = KERNEL_MESSAGES.findIndex((k) => k.kind === null);
  assertEquals(kindOf(trace, "cut here\nInternal error: Oops: 5 [#1]"), "oops");
  assertEquals(kindOf(trace, "cut here\nkernel BUG at x.c:1"), "bug");
  assertEquals(kindOf(trace, "cut here\nWARNING: CPU: 1"), "warning");
  assertEquals(kindOf(trace, "cut here\nsomething else"), "unknown");
  assertEquals(kindOf(startOf("BUG: KASAN: x"), "anything"), "kasan");
});

Deno.test("each kind's end is found where LAVA ends it, and the text is kept without carriage returns", () => {
  const end = (kind: string) => KERNEL_MESSAGES.find((k) => k.kind === kind)!.end;
  assertEquals(end("kasan").test("=====================\r\n"), true);
  assertEquals(end("panic").test("---[ end Kernel panic - not syncing: VFS ]---\r\n"), true);
  assertEquals(end("warning").test("---[ end trace 0000000000000000 ]---\n"), true);
  assertEquals(KERNEL_MESSAGES[0].end.test("---[ end trace 1f2e3d4c5b6a7988 ]---\r\n"), true);
  assertEquals(messageText("[ 1.0] ", "Oops: 5 [#1]\r\nCPU: 0\r\n"), "[ 1.0] Oops: 5 [#1]\nCPU: 0");
});

Deno.test("a message is bounded, and matching hostile output takes linear time", () => {
  const long = messageText("", "x".repeat(MAX_KERNEL_MESSAGE * 3));
  assertEquals(long.length, MAX_KERNEL_MESSAGE + " [...]".length);
  const hostile = "-".repeat(100_000) + "[ end trace " + "a".repeat(50_000);
  const started = performance.now();
  for (const kind of KERNEL_MESSAGES) {
    kind.start.test(hostile);
    kind.end.test(hostile);
  }
  assertEquals(performance.now() - started < 1000, true);
});

Deno.test("a boot's kernel messages are recorded as LAVA's kernel-messages result", () => {
  const result = kernelMessagesResult([{ kind: "warning", message: "WARNING: CPU: 0" }], false, "2.2.1", 1.234);
  assertEquals(result, {
    definition: "lava",
    namespace: "common",
    case: "kernel-messages",
    level: "2.2.1",
    duration: "1.23",
    result: "pass",
    extra: { extra: [{ kind: "warning", message: "WARNING: CPU: 0" }] },
  });
  assertEquals(kernelMessagesResult([], true, "2", 0).result, "fail");
});
