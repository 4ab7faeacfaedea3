/**
 * Kernel messages as LAVA classifies them while a device boots: each kind starts
 * with a line the kernel prints (a `cut here` trace, an Oops, BUG, KASAN, KFENCE,
 * KCSAN, WARNING, an unhandled fault, an invalid opcode, a panic) and ends where
 * LAVA ends it; a panic, and U-Boot's SPL banner (the board reset under the
 * job), end the boot. What is kept of one message is bounded.
 */

export interface KernelMessageKind {
  /** How the message starts; matched anywhere on the console. */
  readonly start: RegExp;
  /** How it ends, after its start. */
  readonly end: RegExp;
  /** Its kind, or null for a `cut here` trace, classified by what it says. */
  readonly kind: string | null;
  /** Whether it ends the boot: the kernel cannot go on. */
  readonly fatal: boolean;
}

/** The end of a console line, however the device ends its lines. */
const EOL = /\r?\n|\r/;

function ending(pattern: string): RegExp {
  return new RegExp(`${pattern}(?:${EOL.source})`);
}

/**
 * LAVA's KERNEL_MESSAGES, in its order (the first that matches wins). The ends
 * are LAVA's without their leading runs (`-+\[ end trace`, `=+`), which cost
 * quadratic time on a long run of dashes or equals signs; what precedes an end
 * is kept as the message all the same.
 */
export const KERNEL_MESSAGES: readonly KernelMessageKind[] = [
  { start: /-\[ cut here \]/, end: ending(String.raw`\[ end trace [^\r\n]*`), kind: null, fatal: false },
  { start: /Unhandled fault/, end: EOL, kind: "fault", fatal: false },
  { start: /BUG: KCSAN:/, end: ending("=="), kind: "kcsan", fatal: false },
  { start: /BUG: KASAN:/, end: ending("=="), kind: "kasan", fatal: false },
  { start: /BUG: KFENCE:/, end: ending("=="), kind: "kfence", fatal: false },
  { start: /Oops(?: -|:)/, end: EOL, kind: "oops", fatal: false },
  { start: /WARNING:/, end: ending(String.raw`end trace[^\r\n]*`), kind: "warning", fatal: false },
  { start: /(?:kernel BUG at|BUG:)/, end: EOL, kind: "bug", fatal: false },
  { start: /invalid opcode:/, end: EOL, kind: "invalid opcode", fatal: false },
  {
    start: /Kernel panic - not syncing/,
    end: ending(String.raw`end Kernel panic[^\r\n]*`),
    kind: "panic",
    fatal: true,
  },
  { start: /U-Boot SPL 20[0-9][0-9]/, end: EOL, kind: "DUT_has_reset", fatal: true },
];

/** The most of one kernel message kept (a trace can run to thousands of lines). */
export const MAX_KERNEL_MESSAGE = 16 * 1024;

export interface KernelMessage {
  readonly kind: string;
  readonly message: string;
}

/** The kind of a message that started as `kinds[index]`: a trace is named by what it says, as LAVA names it. */
export function kindOf(index: number, message: string): string {
  const kind = KERNEL_MESSAGES[index].kind;
  if (kind !== null) return kind;
  if (message.includes("Oops")) return "oops";
  if (message.includes("BUG")) return "bug";
  if (message.includes("WARNING")) return "warning";
  return "unknown";
}

/** A message's text as kept: the line it started on up to its end, without the final line break, bounded. */
export function messageText(lineStart: string, body: string): string {
  const text = (lineStart + body).replace(/(?:\r?\n|\r)$/, "").replace(/\r/g, "");
  return text.length > MAX_KERNEL_MESSAGE ? `${text.slice(0, MAX_KERNEL_MESSAGE)} [...]` : text;
}

/** What LAVA records for the kernel messages of one boot: the `lava` suite's `kernel-messages` case. */
export function kernelMessagesResult(
  messages: readonly KernelMessage[],
  failed: boolean,
  level: string,
  seconds: number,
  namespace = "common",
): Record<string, unknown> {
  return {
    definition: "lava",
    namespace,
    case: "kernel-messages",
    level,
    duration: seconds.toFixed(2),
    result: failed ? "fail" : "pass",
    extra: { extra: messages.map((m) => ({ kind: m.kind, message: m.message })) },
  };
}
