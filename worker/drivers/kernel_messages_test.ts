import { assert, assertEquals } from "../../tests/support/assert.ts";
import {
  classifyKernelMessage,
  FAILURE_MESSAGE_ENTRY,
  KERNEL_MESSAGES,
  kernelMessagesResult,
  kindOf,
  loginActionExtra,
  MAX_KERNEL_MESSAGE,
  messageText,
} from "./kernel_messages.ts";

/** A kernel log excerpt as the console shows it, one string a line. */
const log = (text: string) => text.trim().split("\n").map((l) => l.trim());

const panicVfs = log(`
  [    2.913051] VFS: Cannot open root device "vda2" or unknown-block(0,0): error -6
  [    2.913402] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
  [    2.913790] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-18-arm64 #1  Debian 6.1.76-1
  [    2.914101] Hardware name: linux,dummy-virt (DT)
  [    2.914320] Call trace:
  [    2.914452]  dump_backtrace+0xe4/0x140
  [    2.914650]  panic+0x18c/0x36c
  [    2.914812]  mount_block_root+0x1d8/0x26c
  [    2.915301] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---
  Debian GNU/Linux 12 debian ttyAMA0
`);

const kasan = log(`
  [   92.225932] ==================================================================
  [   92.229826] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x190/0x3b8
  [   92.232764] Write of size 1 at addr ffff0000c6aaf473 by task kunit_try_catch/191
  [   92.236941] CPU: 1 PID: 191 Comm: kunit_try_catch Tainted: G    B            6.1.0 #1
  [   92.348291] The buggy address belongs to the object at ffff0000c6aaf400
  [   92.348291]  which belongs to the cache kmalloc-128 of size 128
  [   92.390412] Memory state around the buggy address:
  [   92.394023]  ffff0000c6aaf400: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 fc
  [   92.397804] ==================================================================
  [   92.401250]     ok 1 - kmalloc_oob_right
`);

const kfence = log(`
  [   39.998586] BUG: KFENCE: memory corruption in kfree+0x8c/0x174
  [   40.002345] Corrupted memory at 0x00000000a2b63c8e [ 0xac . . . . . . ] (in kfence-#70):
  [   40.010321]  kfree+0x8c/0x174
  [   40.013540] CPU: 2 PID: 172 Comm: kunit_try_catch Tainted: G    B             6.1.0 #1
  [   40.021002] ==================================================================
`);

const kcsan = log(`
  [  105.123456] BUG: KCSAN: data-race in test_kernel_read / test_kernel_write
  [  105.124001] write to 0xffffffffc009a628 of 8 bytes by task 487 on cpu 0:
  [  105.124300]  test_kernel_write+0x1d/0x30
  [  105.124511] read to 0xffffffffc009a628 of 8 bytes by task 488 on cpu 6:
  [  105.124800]  test_kernel_read+0x10/0x20
  [  105.125001] ==================================================================
`);

const warning = log(`
  [    5.771032] WARNING: CPU: 3 PID: 1 at drivers/gpu/drm/drm_atomic_helper.c:1510 drm_atomic_helper_wait_for_vblanks+0x1d8/0x1e0
  [    5.771210] Modules linked in: drm_kms_helper
  [    5.771400] CPU: 3 PID: 1 Comm: swapper/0 Not tainted 5.15.0 #1
  [    5.771600] pc : drm_atomic_helper_wait_for_vblanks+0x1d8/0x1e0
  [    5.772800] ---[ end trace 1f2e3d4c5b6a7988 ]---
`);

const cutHereOops = log(`
  [   14.446502] ------------[ cut here ]------------
  [   14.451213] kernel BUG at kernel/sched/walt.c:109!
  [   14.461360] Internal error: Oops - BUG: 0 [#1] PREEMPT SMP
  [   14.470011] Modules linked in:
  [   14.480300] pc : walt_inc_cumulative_runnable_avg+0x64/0x68
  [   36.213248] ---[ end trace 1bd963a5953b065c ]---
`);

Deno.test("each kind of kernel message is told by the line that starts it, in LAVA's order", () => {
  const lines: [string, string][] = [
    ["[    0.731012] Unhandled fault: external abort on non-linefetch (0x1018) at 0xf0000000", "fault"],
    ["[   14.461360] Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP", "oops"],
    ["[   11.002101] Oops: 0000 [#1] PREEMPT SMP NOPTI", "oops"],
    ["[  212.041209] kernel BUG at mm/slub.c:4296!", "bug"],
    ["[   39.006114] BUG: spinlock lockup suspected on CPU#4, swapper/4/0", "bug"],
    ["[   11.001234] BUG: kernel NULL pointer dereference, address: 0000000000000000", "bug"],
    ["[   30.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]", "bug"],
    ["[   11.002400] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", "invalid opcode"],
    // The earliest start wins: "Oops -" comes before "BUG:" on this line.
    ["[   14.461360] Internal error: Oops - BUG: 0 [#1] PREEMPT SMP", "oops"],
    // Starting together, the first in LAVA's table wins: KASAN before BUG.
    ["[   92.229826] BUG: KASAN: use-after-free in kfree+0x8c/0x174", "kasan"],
  ];
  for (const [line, expected] of lines) {
    const found = classifyKernelMessage(line);
    assertEquals(found && { kind: found.kind, fatal: found.fatal, lines: found.lines }, {
      kind: expected,
      fatal: false,
      lines: 1,
    }, line);
    assertEquals(found?.message, line);
  }
});

Deno.test("a panic reads to its end Kernel panic line and ends the boot", () => {
  const found = classifyKernelMessage(panicVfs[1], panicVfs.slice(2));
  assertEquals(found?.kind, "panic");
  assertEquals(found?.fatal, true);
  assertEquals(found?.ended, true);
  assertEquals(found?.lines, 8);
  assertEquals(found?.message, panicVfs.slice(1, 9).join("\n"));
  assertEquals(classifyKernelMessage(panicVfs[0]), null);
});

Deno.test("KASAN, KFENCE and KCSAN reports read to their closing line of equals signs", () => {
  assertEquals(classifyKernelMessage(kasan[0]), null);
  const fromKasan = classifyKernelMessage(kasan[1], kasan.slice(2));
  assertEquals([fromKasan?.kind, fromKasan?.lines, fromKasan?.ended], ["kasan", 8, true]);
  assert(fromKasan?.message.startsWith("[   92.229826] BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right"));
  assert(
    fromKasan?.message.endsWith("[   92.397804] =================================================================="),
  );
  const fromKfence = classifyKernelMessage(kfence[0], kfence.slice(1));
  assertEquals([fromKfence?.kind, fromKfence?.lines, fromKfence?.fatal], ["kfence", 5, false]);
  const fromKcsan = classifyKernelMessage(kcsan[0], kcsan.slice(1));
  assertEquals([fromKcsan?.kind, fromKcsan?.lines], ["kcsan", 6]);
});

Deno.test("a WARNING reads to its end trace line", () => {
  const found = classifyKernelMessage(warning[0], warning.slice(1));
  assertEquals([found?.kind, found?.lines, found?.ended, found?.fatal], ["warning", 5, true, false]);
  assert(found?.message.endsWith("---[ end trace 1f2e3d4c5b6a7988 ]---"));
});

Deno.test("a cut here trace reads to its end trace line and is named by what it says", () => {
  const oops = classifyKernelMessage(cutHereOops[0], cutHereOops.slice(1));
  assertEquals([oops?.kind, oops?.lines], ["oops", 6]);
  assertEquals(oops?.message, cutHereOops.join("\n"));
  const cut = "[    3.1] ------------[ cut here ]------------";
  const end = "[    3.3] ---[ end trace 0000000000000000 ]---";
  assertEquals(classifyKernelMessage(cut, ["[    3.2] kernel BUG at fs/buffer.c:1285!", end])?.kind, "bug");
  assertEquals(
    classifyKernelMessage(cut, ["[    3.2] WARNING: CPU: 1 PID: 7 at fs/x.c:1 f+0x1/0x2", end])?.kind,
    "warning",
  );
  assertEquals(classifyKernelMessage(cut, ["[    3.2] refcount_t: underflow; use-after-free.", end])?.kind, "unknown");
  // The trace's own end, not a WARNING's looser one, closes it.
  assertEquals(classifyKernelMessage(cut, ["[    3.2] end trace of sorts", end])?.lines, 3);
});

Deno.test("a trace is named by all it says even beyond what is kept of it", () => {
  const filler = Array.from({ length: 4000 }, (_, i) => `[   20.${i}] x19: 0000000000000000 x18: 0000000000000000`);
  const found = classifyKernelMessage("[ 20.0] ------------[ cut here ]------------", [
    ...filler,
    "[ 21.0] Internal error: Oops: 96000004 [#1] SMP",
    "[ 21.1] ---[ end trace 0000000000000000 ]---",
  ]);
  assertEquals([found?.kind, found?.lines, found?.ended], ["oops", 4003, true]);
  assertEquals(found?.message.length, MAX_KERNEL_MESSAGE + " [...]".length);
  assert(!found?.message.includes("Internal error"));
});

Deno.test("a message whose end has not come says so, with all the lines given", () => {
  const found = classifyKernelMessage(warning[0], warning.slice(1, 3));
  assertEquals([found?.kind, found?.lines, found?.ended], ["warning", 3, false]);
  const panic = classifyKernelMessage(panicVfs[1]);
  assertEquals([panic?.kind, panic?.lines, panic?.ended], ["panic", 1, false]);
});

Deno.test("troubles LAVA 2023.01 has no pattern for are not kernel messages to it", () => {
  for (
    const line of [
      "[   10.500000] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
      "[   10.500100] Unable to handle kernel paging request at virtual address ffff800009a2b000",
      "[   11.001300] #PF: supervisor read access in kernel mode",
      "[   12.000000] general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI",
      "[   60.123456] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
      "[  120.000000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
    ]
  ) {
    assertEquals(classifyKernelMessage(line), null, line);
  }
});

Deno.test("ordinary boot lines and test output mentioning panics are not kernel messages", () => {
  for (
    const line of [
      "[    0.000000] Linux version 6.1.0-18-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)",
      "[    0.000000] Kernel command line: console=ttyAMA0 root=/dev/vda2 panic=-1 oops=panic",
      "[    1.203311] Run /init as init process",
      "[    2.100000] EXT4-fs (vda2): mounted filesystem with ordered data mode. Quota mode: none.",
      "[  OK  ] Started systemd-journald.service - Journal Service.",
      "U-Boot 2023.01 (Jan 09 2023 - 10:00:00 +0000)",
      "test_panic_notifier: the handler did not panic ... ok",
      "kernel.panic_on_oops = 1",
      "oops: something went wrong in the test script",
      "warning: unused variable 'x' [-Wunused-variable]",
      "Bugs fixed: 3; BUGS: none",
      "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=no-panic RESULT=pass>",
    ]
  ) {
    assertEquals(classifyKernelMessage(line), null, line);
  }
});

Deno.test("a board reset (U-Boot's SPL banner) ends the boot, a kind later than LAVA 2023.01", () => {
  const found = classifyKernelMessage("U-Boot SPL 2021.01 (Jan 11 2021 - 18:11:43 +0000)");
  assertEquals([found?.kind, found?.fatal], ["DUT_has_reset", true]);
  assertEquals(KERNEL_MESSAGES.filter((k) => k.fatal).map((k) => [k.kind, k.since]), [
    ["panic", undefined],
    ["DUT_has_reset", "2025.04"],
  ]);
  assertEquals(KERNEL_MESSAGES.filter((k) => k.since === undefined).length, 10);
});

Deno.test("kindOf names a trace by what it says and any other kind by how it starts", () => {
  const trace = KERNEL_MESSAGES.findIndex((k) => k.kind === null);
  assertEquals(kindOf(trace, "cut here\nInternal error: Oops: 5 [#1]\nkernel BUG at x.c:1"), "oops");
  assertEquals(kindOf(trace, "cut here\nkernel BUG at x.c:1\nWARNING: CPU: 1"), "bug");
  assertEquals(kindOf(trace, "cut here\nWARNING: CPU: 1"), "warning");
  assertEquals(kindOf(trace, "cut here\nsomething else"), "unknown");
  assertEquals(kindOf(KERNEL_MESSAGES.findIndex((k) => k.kind === "kasan"), "WARNING"), "kasan");
});

/** Searches `text` from `from` as the console does for `pattern`: what came before, and the match. */
function search(pattern: RegExp, text: string, from = 0): { before: string; match: string } | null {
  const global = new RegExp(pattern.source, pattern.flags + "g");
  global.lastIndex = from;
  const match = global.exec(text);
  return match && { before: text.slice(from, match.index), match: match[0] };
}

Deno.test("on a stream each end matches through the line that ends the message, as its line test does", () => {
  const stream = (lines: string[], eol: string) => lines.join(eol) + eol;
  const cases: [string[], number][] = [[panicVfs.slice(1), 7], [kasan.slice(1), 7], [warning, 4], [cutHereOops, 5]];
  for (const eol of ["\r\n", "\n", "\r"]) {
    for (const [lines, last] of cases) {
      const kind = KERNEL_MESSAGES.find((k) => k.start.test(lines[0]))!;
      const start = kind.start.exec(lines[0])!;
      const rest = stream(lines, eol).slice(start.index + start[0].length);
      const found = search(kind.end, rest);
      assertEquals(
        found && found.before + found.match,
        stream(lines.slice(0, last + 1), eol).slice(start.index + start[0].length),
      );
      assertEquals(classifyKernelMessage(lines[0], lines.slice(1))?.lines, last + 1);
    }
  }
  // A one-line kind ends at its own line's end; the rest of the start line is a line of its own.
  const oops = KERNEL_MESSAGES.find((k) => k.kind === "oops")!;
  assertEquals(search(oops.end, " [#1] SMP\r\nnext\r\n"), { before: " [#1] SMP", match: "\r\n" });
  const trace = KERNEL_MESSAGES[0];
  assertEquals(search(trace.end, "------------\r\n---[ end trace 0 ]---\r\n")?.match, "---[ end trace 0 ]---\r\n");
  // A marker in the middle of a line that has not ended yet is not an end.
  assertEquals(search(trace.end, "x\n---[ end trace 0 ]--- and still printing"), null);
  // Searching from past the start of a line (as the console does with its context) does not match within it.
  assertEquals(search(trace.end, "ab---[ end trace 0 ]---\n", 1), null);
});

Deno.test("hostile 100 KiB lines cost linear time in every pattern and in the classification", () => {
  const size = 100 * 1024;
  const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const hostile = [
    fill("end trace "),
    fill("-[ end trace a ]-"),
    fill("[ end trace "),
    fill("end Kernel panic "),
    fill("-"),
    fill("="),
    fill("= "),
    fill("BUG: KASAN: "),
    fill("Oops -"),
    fill("\u2028end trace "),
    fill("a") + "\r\n" + fill("-[ end trace "),
  ];
  const started = performance.now();
  for (const text of hostile) {
    for (const kind of KERNEL_MESSAGES) {
      search(kind.start, text);
      search(kind.end, text);
      kind.endLine?.test(text);
    }
    classifyKernelMessage(text, [text, text]);
    classifyKernelMessage("[ 1.0] ------------[ cut here ]------------", [text, text]);
  }
  const elapsed = performance.now() - started;
  assert(elapsed < 500, `took ${Math.round(elapsed)} ms`);
});

Deno.test("a kept message is bounded and loses its carriage returns", () => {
  assertEquals(messageText("[ 1.0] ", "Oops: 5 [#1]\r\nCPU: 0\r\n"), "[ 1.0] Oops: 5 [#1]\nCPU: 0");
  assertEquals(messageText("", "x".repeat(MAX_KERNEL_MESSAGE * 3)).length, MAX_KERNEL_MESSAGE + " [...]".length);
  const long = classifyKernelMessage("x".repeat(MAX_KERNEL_MESSAGE * 2) + " BUG: scheduling while atomic\r");
  assertEquals([long?.kind, long?.message.length], ["bug", MAX_KERNEL_MESSAGE + " [...]".length]);
  assertEquals(classifyKernelMessage("[ 1.0] BUG: x\r")?.message, "[ 1.0] BUG: x");
});

Deno.test("a boot's kernel messages are recorded as LAVA's kernel-messages result in the lava suite", () => {
  const warned = classifyKernelMessage(warning[0], warning.slice(1))!;
  assertEquals(kernelMessagesResult([warned], false, "2.4.3", 1.234, "target"), {
    definition: "lava",
    namespace: "target",
    case: "kernel-messages",
    level: "2.4.3",
    duration: "1.23",
    result: "pass",
    extra: { extra: [{ kind: "warning", message: warned.message }] },
  });
  assertEquals(kernelMessagesResult([], false, "2", 0).extra.extra, []);
  assertEquals(kernelMessagesResult([], false, "2", 0).namespace, "common");
  const failed = kernelMessagesResult([warned, FAILURE_MESSAGE_ENTRY], true, "2", 0);
  assertEquals(failed.result, "fail");
  assertEquals(failed.extra.extra[1], { message: "kernel-messages" });
});

Deno.test("the login action's own result says whether kernel messages were found", () => {
  assertEquals(loginActionExtra([]), { success: "No kernel warnings or errors detected." });
  assertEquals(loginActionExtra([{ kind: "bug", message: "BUG: x" }]), { fail: [{ kind: "bug", message: "BUG: x" }] });
});
