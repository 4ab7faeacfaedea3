/**
 * Kernel messages as LAVA 2023.01 classifies them while a device boots
 * (lava_dispatcher/utils/messages.py): each kind starts with text the kernel
 * prints (a `cut here` trace, an unhandled fault, KCSAN, KASAN, KFENCE, an Oops,
 * a WARNING, a BUG, an invalid opcode, a panic) and ends where LAVA ends it. A
 * panic ends the boot as the job's error; every other kind is recorded and the
 * boot goes on. What is kept of one message is bounded, and every pattern costs
 * time linear in what it reads, however hostile the console.
 *
 * LAVA reads these only in its login action, between the kernel start message
 * and the login or shell prompt; its test shell does not. A boot's
 * `ignore_kernel_messages: true` (LAVA 2023.06, later than 2023.01) reads none of
 * them, which is the caller's to honour: it changes no classification.
 *
 * @example
 * ```ts
 * const found = classifyKernelMessage("[ 3.1] Kernel panic - not syncing: VFS", [
 *   "[ 3.1] ---[ end Kernel panic - not syncing: VFS ]---",
 * ]);
 * // found: { kind: "panic", fatal: true, lines: 2, ended: true, message: "[ 3.1] Kernel panic ..." }
 * ```
 */

/** The kinds LAVA names in its `kernel-messages` result. */
export type KernelKind =
  | "fault"
  | "kcsan"
  | "kasan"
  | "kfence"
  | "oops"
  | "warning"
  | "bug"
  | "invalid opcode"
  | "panic"
  | "DUT_has_reset"
  | "unknown";

export interface KernelMessageKind {
  /** How the message starts; matched anywhere on the console, the earliest start winning (ties: table order). */
  readonly start: RegExp;
  /**
   * What the line that ends the message matches, tested on each line after the
   * start (the start's own line from the end of its match); null when the
   * message ends with its first line.
   */
  readonly endLine: RegExp | null;
  /** The same end on a stream of console output searched from just after the start: it matches through the line break. */
  readonly end: RegExp;
  /** Its kind, or null for a `cut here` trace, named by what it says ({@link kindOf}). */
  readonly kind: KernelKind | null;
  /** Whether it ends the boot: the kernel cannot go on. */
  readonly fatal: boolean;
  /** The LAVA release that added it, when later than 2023.01. */
  readonly since?: string;
}

/** The end of a console line, however the device ends its lines (LAVA's ends are `\r`). */
const EOL = String.raw`(?:\r?\n|\r)`;

type End = Pick<KernelMessageKind, "endLine" | "end">;

/** LAVA's `\r`: the message is the rest of its first line. */
const atLineEnd: End = { endLine: null, end: new RegExp(EOL) };

/**
 * LAVA's `<marker>[^\r]*\r`: the message runs to the end of the line holding
 * `marker`. On a stream the match is anchored at the start of that line and
 * first checks the line has ended, so each line is read a bounded number of
 * times: an unanchored `marker[^\r\n]*\r` rereads the rest of a line from each of
 * its markers, quadratic on a line that repeats one. The match starts with the
 * line, not the marker; what precedes it is the stream's `before` all the same.
 * A line whose start lies further back than the console searches (8 KiB) is
 * not found; the kernel's own lines are under 1 KiB.
 */
function atLineHolding(marker: string): End {
  return {
    endLine: new RegExp(marker),
    end: new RegExp(String.raw`(?<![^\r\n])(?=[^\r\n]*${EOL})[^\r\n]*?${marker}[^\r\n]*${EOL}`),
  };
}

/** LAVA's `=+\r`: the message runs to a line ending with `char` (one is as good as a run, and costs no backtracking). */
function atLineEndingWith(char: string): End {
  return { endLine: new RegExp(`${char}$`), end: new RegExp(`${char}${EOL}`) };
}

/** LAVA's KERNEL_MESSAGES, in its order. */
export const KERNEL_MESSAGES: readonly KernelMessageKind[] = [
  { start: /-\[ cut here \]/, ...atLineHolding(String.raw`-\[ end trace \w* \]-`), kind: null, fatal: false },
  { start: /Unhandled fault/, ...atLineEnd, kind: "fault", fatal: false },
  { start: /BUG: KCSAN:/, ...atLineEndingWith("="), kind: "kcsan", fatal: false },
  { start: /BUG: KASAN:/, ...atLineEndingWith("="), kind: "kasan", fatal: false },
  { start: /BUG: KFENCE:/, ...atLineEndingWith("="), kind: "kfence", fatal: false },
  { start: /Oops(?: -|:)/, ...atLineEnd, kind: "oops", fatal: false },
  { start: /WARNING:/, ...atLineHolding("end trace"), kind: "warning", fatal: false },
  { start: /kernel BUG at|BUG:/, ...atLineEnd, kind: "bug", fatal: false },
  { start: /invalid opcode:/, ...atLineEnd, kind: "invalid opcode", fatal: false },
  { start: /Kernel panic - not syncing/, ...atLineHolding("end Kernel panic"), kind: "panic", fatal: true },
  // U-Boot's SPL banner in the middle of a boot: the board reset under the job.
  { start: /U-Boot SPL 20[0-9][0-9]/, ...atLineEnd, kind: "DUT_has_reset", fatal: true, since: "2025.04" },
];

/** The most of one kernel message kept (a trace can run to thousands of lines). */
export const MAX_KERNEL_MESSAGE = 16 * 1024;

/** One message as LAVA lists it in the `kernel-messages` result. */
export interface KernelMessage {
  readonly kind: string;
  readonly message: string;
}

/** The words that name a trace, in the order LAVA looks for them. */
const TRACE_WORDS = ["Oops", "BUG", "WARNING"] as const;

/** A trace's kind as LAVA names it, by what the trace says. */
function traceKind(text: string): KernelKind {
  if (text.includes("Oops")) return "oops";
  if (text.includes("BUG")) return "bug";
  if (text.includes("WARNING")) return "warning";
  return "unknown";
}

/** The kind of a message that started as `KERNEL_MESSAGES[index]`: a trace is named by what it says, as LAVA names it. */
export function kindOf(index: number, message: string): KernelKind {
  return KERNEL_MESSAGES[index].kind ?? traceKind(message);
}

/** Bounds a message's text, saying where it was cut. */
function bounded(text: string): string {
  return text.length > MAX_KERNEL_MESSAGE ? `${text.slice(0, MAX_KERNEL_MESSAGE)} [...]` : text;
}

/** A message's text as kept: the line it started on up to its end, without the final line break, bounded. */
export function messageText(lineStart: string, body: string): string {
  return bounded((lineStart + body).replace(/(?:\r?\n|\r)$/, "").replace(/\r/g, ""));
}

/** A kernel message found on console lines. */
export interface ClassifiedKernelMessage extends KernelMessage {
  readonly kind: KernelKind;
  /** Whether LAVA ends the boot on it (a JobError whose text is the message). */
  readonly fatal: boolean;
  /** How many lines it spans, its first included; LAVA reads on from the line after (a start later on its last line is not seen). */
  readonly lines: number;
  /**
   * Whether its end was among the lines given. LAVA waits for the end, and
   * records nothing (nor ends the boot) when the prompt, the connection or the
   * time runs out first.
   */
  readonly ended: boolean;
}

/** The earliest start on `line` as LAVA's expect finds it: the leftmost, the first in the table on a tie. */
function earliestStart(line: string): { index: number; end: number; at: number } | undefined {
  let best: { index: number; end: number; at: number } | undefined;
  KERNEL_MESSAGES.forEach((kind, index) => {
    const match = kind.start.exec(line);
    if (match && (!best || match.index < best.at)) {
      best = { index, at: match.index, end: match.index + match[0].length };
    }
  });
  return best;
}

/**
 * The kernel message that starts on console `line`, if any, with the lines that
 * `following` adds to it up to its end, as LAVA records it: its kind and its text
 * from the start of `line` to the end of its last line (bounded by
 * {@link MAX_KERNEL_MESSAGE}). Lines are given without their line breaks.
 * Linear in what it reads, and it reads `following` only up to the message's end.
 *
 * @example
 * ```ts
 * classifyKernelMessage("[ 9.2] BUG: spinlock lockup suspected on CPU#4, swapper/4/0");
 * // { kind: "bug", fatal: false, lines: 1, ended: true, message: "[ 9.2] BUG: spinlock ..." }
 * classifyKernelMessage("[ 1.0] Run /init as init process"); // null
 * ```
 */
export function classifyKernelMessage(
  line: string,
  following: readonly string[] = [],
): ClassifiedKernelMessage | null {
  const start = earliestStart(line);
  if (!start) return null;
  const kind = KERNEL_MESSAGES[start.index];
  // A trace is named by its whole text, however little of it is kept.
  const seen = new Set<string>();
  const kept: string[] = [];
  let keptLength = 0;
  const keep = (text: string) => {
    if (kind.kind === null) { for (const word of TRACE_WORDS) if (text.includes(word)) seen.add(word); }
    if (keptLength > MAX_KERNEL_MESSAGE) return;
    kept.push(text);
    keptLength += text.length + 1;
  };
  keep(line);
  let lines = 1;
  let ended = kind.endLine === null || kind.endLine.test(line.slice(start.end));
  for (let i = 0; !ended && i < following.length; i++) {
    keep(following[i]);
    lines++;
    ended = kind.endLine!.test(following[i]);
  }
  return {
    kind: kind.kind ?? traceKind([...seen].join(" ")),
    fatal: kind.fatal,
    message: bounded(kept.join("\n").replace(/\r/g, "")),
    lines,
    ended,
  };
}

/** LAVA's entry in the `kernel-messages` result when the job's own `failure_message` matched (no kind). */
export const FAILURE_MESSAGE_ENTRY: { readonly message: "kernel-messages" } = { message: "kernel-messages" };

/** One entry of the `kernel-messages` result's list: a kernel message, or {@link FAILURE_MESSAGE_ENTRY}. */
export type LavaKernelMessageEntry = { kind: string; message: string } | { message: string };

/** The `lava` suite's `kernel-messages` case, recorded once each time LAVA reads a boot's kernel messages. */
export type LavaKernelMessagesResult = {
  definition: "lava";
  namespace: string;
  case: "kernel-messages";
  /** The login action's level in the pipeline ("2.4.3"). */
  level: string;
  /** Seconds spent reading, with two decimals. */
  duration: string;
  /** "fail" only when a fatal message or the job's failure_message ended the boot. */
  result: "pass" | "fail";
  /** Every message read, in order (empty when none). */
  extra: { extra: LavaKernelMessageEntry[] };
};

/**
 * What LAVA records for the kernel messages of one boot: the `lava` suite's `kernel-messages` case.
 *
 * @example
 * ```ts
 * kernelMessagesResult([{ kind: "warning", message: "WARNING: CPU: 0 ..." }], false, "2.4.3", 12.3);
 * // { definition: "lava", namespace: "common", case: "kernel-messages", level: "2.4.3",
 * //   duration: "12.30", result: "pass", extra: { extra: [{ kind: "warning", message: "WARNING: CPU: 0 ..." }] } }
 * ```
 */
export function kernelMessagesResult(
  messages: readonly LavaKernelMessageEntry[],
  failed: boolean,
  level: string,
  seconds: number,
  namespace = "common",
): LavaKernelMessagesResult {
  return {
    definition: "lava",
    namespace,
    case: "kernel-messages",
    level,
    duration: seconds.toFixed(2),
    result: failed ? "fail" : "pass",
    extra: {
      extra: messages.map((m) => ("kind" in m ? { kind: m.kind, message: m.message } : { message: m.message })),
    },
  };
}

/**
 * What LAVA's login action adds to its own `login-action` result's extra after
 * reading kernel messages (that result stays "pass" unless the action fails).
 */
export function loginActionExtra(
  messages: readonly LavaKernelMessageEntry[],
): { success: string } | { fail: LavaKernelMessageEntry[] } {
  if (messages.length === 0) return { success: "No kernel warnings or errors detected." };
  return { fail: kernelMessagesResult(messages, false, "", 0).extra.extra };
}
