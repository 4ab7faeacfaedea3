/**
 * What travels on a reservation's console, the same frames on each hop: the
 * dispatcher's console socket, the worker–master mailbox (transient kinds) and
 * the master's WebSocket. `up` frames go from the device towards the people
 * watching it, `down` frames from the holder towards the device. Every frame is
 * parsed where it arrives and bounded; a frame that does not parse is dropped.
 */
import { fail, isRecord, type ParseProblem } from "../mailbox/protocol.ts";

/** The dispatcher's console socket, in the job's work directory, where its worker finds it. */
export const CONSOLE_SOCKET = "console.sock";
/** The `event` log records that tell the worker the console socket is listening, and that it is gone. */
export const CONSOLE_OPEN = { console: "open" } as const;
export const CONSOLE_CLOSED = { console: "closed" } as const;

/** Whether a log record is the dispatcher saying its console socket is listening. */
export function opensConsole(record: { readonly lvl: string; readonly msg: unknown }): boolean {
  return record.lvl === "event" && isRecord(record.msg) && record.msg.console === CONSOLE_OPEN.console;
}

/** Largest piece of device output in one frame, in characters. */
export const MAX_OUTPUT_CHARS = 64 * 1024;
/** Largest piece of typed input in one frame: a paste, not a file transfer. */
export const MAX_INPUT_CHARS = 4096;
/** Largest job definition a holder may boot the board with while it is reserved. */
export const MAX_BOOT_DEFINITION_CHARS = 64 * 1024;
const MAX_TEXT_CHARS = 2000;
const MAX_USER_CHARS = 150;

export const POWER_ACTIONS = ["on", "off", "reset"] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

/** From the device side. */
export type UpFrame =
  /** What the device printed. */
  | { readonly t: "output"; readonly data: string }
  /** Where the reservation stands: the device's power as last switched, and when the reservation ends. */
  | { readonly t: "state"; readonly power: "on" | "off" | "unknown"; readonly endsAt: string }
  /** Something the people watching should read (a warning before the end, a power switch's outcome). */
  | { readonly t: "notice"; readonly text: string };

/** From the holder's side; `by` is the user the master authenticated. */
export type DownFrame =
  | { readonly t: "input"; readonly data: string }
  | { readonly t: "power"; readonly action: PowerAction; readonly by: string }
  | { readonly t: "release"; readonly by: string }
  /** Runs the deploy and boot actions of a job definition (YAML) on the reserved board. */
  | { readonly t: "boot"; readonly definition: string; readonly by: string }
  /** The keyboard changed hands (for the record). */
  | { readonly t: "holder"; readonly by: string };

function text(value: unknown, key: string, max: number): string | ParseProblem {
  if (typeof value !== "string") return fail(`${key} must be a string`);
  if (value.length > max) return fail(`${key} is longer than ${max} characters`);
  return value;
}

const isText = (value: string | ParseProblem): value is string => typeof value === "string";

export function parseUpFrame(value: unknown): UpFrame | ParseProblem {
  if (!isRecord(value)) return fail("a console frame must be a mapping");
  switch (value.t) {
    case "output": {
      const data = text(value.data, "data", MAX_OUTPUT_CHARS);
      return isText(data) ? { t: "output", data } : data;
    }
    case "state": {
      if (value.power !== "on" && value.power !== "off" && value.power !== "unknown") {
        return fail("power must be on, off or unknown");
      }
      const endsAt = text(value.endsAt, "endsAt", 40);
      if (!isText(endsAt)) return endsAt;
      if (Number.isNaN(Date.parse(endsAt))) return fail("endsAt must be a time");
      return { t: "state", power: value.power, endsAt };
    }
    case "notice": {
      const notice = text(value.text, "text", MAX_TEXT_CHARS);
      return isText(notice) ? { t: "notice", text: notice } : notice;
    }
    default:
      return fail("t must be output, state or notice");
  }
}

export function parseDownFrame(value: unknown): DownFrame | ParseProblem {
  if (!isRecord(value)) return fail("a console frame must be a mapping");
  if (value.t === "input") {
    const data = text(value.data, "data", MAX_INPUT_CHARS);
    return isText(data) ? { t: "input", data } : data;
  }
  const by = text(value.by, "by", MAX_USER_CHARS);
  if (!isText(by)) return by;
  switch (value.t) {
    case "power":
      if (!(POWER_ACTIONS as readonly unknown[]).includes(value.action)) return fail("action must be on, off or reset");
      return { t: "power", action: value.action as PowerAction, by };
    case "release":
      return { t: "release", by };
    case "boot": {
      const definition = text(value.definition, "definition", MAX_BOOT_DEFINITION_CHARS);
      return isText(definition) ? { t: "boot", definition, by } : definition;
    }
    case "holder":
      return { t: "holder", by };
    default:
      return fail("t must be input, power, release, boot or holder");
  }
}

/**
 * Reads newline-delimited JSON frames from a byte stream; a line longer than
 * `maxLineBytes` ends the stream (the peer is broken), as does its end.
 */
export async function* readFrameLines(
  readable: ReadableStream<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of readable) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        yield JSON.parse(line);
      } catch {
        yield undefined;
      }
    }
    if (pending.length > maxLineBytes) throw new Error(`a console frame longer than ${maxLineBytes} bytes`);
  }
}

/** Largest frame line on a console socket: the largest output frame, every character escaped. */
export const MAX_FRAME_LINE = MAX_OUTPUT_CHARS * 6 + 1024;

const encoder = new TextEncoder();

export function encodeFrameLine(frame: UpFrame | DownFrame): Uint8Array {
  return encoder.encode(JSON.stringify(frame) + "\n");
}
