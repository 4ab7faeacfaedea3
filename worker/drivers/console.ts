/**
 * A device's console: the bytes it prints, logged as `target` records as they
 * arrive, and `expect()` to wait for a prompt or a marker, pexpect-style but
 * event-driven — every arriving chunk is matched at once; nothing is polled.
 *
 * Every byte the device prints is logged exactly once: whole lines at once, and a
 * partial line (a prompt) when an expectation matches it or after half a second of silence.
 */
import { MAX_TIMER_MS } from "../../actors/definitions/timeouts.ts";
import type { JobLog } from "../job/log.ts";
import { ConnectionClosedError } from "../job/errors.ts";

/** Where console bytes come from and go to (a process, a TCP socket, a serial line). */
export interface ConsoleTransport {
  /** What the device prints, read once (a stream, or chunks read straight from a socket). */
  readonly readable: AsyncIterable<Uint8Array>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ExpectMatch {
  /** Index of the pattern that matched. */
  readonly index: number;
  readonly match: RegExpExecArray;
  /** What came before the match since the previous one. */
  readonly before: string;
}

export class ExpectTimeout extends Error {
  constructor(readonly patterns: readonly (string | RegExp)[], readonly timeoutMs: number, readonly tail: string) {
    super(`no ${patterns.map(String).join(" or ")} within ${Math.round(timeoutMs / 1000)} s`);
    this.name = "ExpectTimeout";
  }
}

/**
 * The device's connection closed under a send or an expect: the lab's fault, as
 * LAVA's ConnectionClosedError is, whoever catches it.
 */
export class ConsoleClosed extends ConnectionClosedError {
  constructor(what: string) {
    super(`the console closed: ${what}`);
  }
}

interface Waiter {
  /** Global copies of the patterns, searched from an index. */
  patterns: RegExp[];
  resolve(match: ExpectMatch): void;
  reject(error: Error): void;
}

/**
 * How long a partial line waits for its end before it is logged alone. A guest
 * starved of CPU (TCG, two guests on two cores) can pause tens of milliseconds in
 * the middle of a line; splitting the line there would break line-based matching
 * (kernel panics) and the log itself. A prompt that an expect() matches is logged
 * at once, so only an unexpected prompt waits this long.
 */
const PARTIAL_LINE_IDLE_MS = 500;

/** Characters in a row a device may leave unechoed before `typeLine` stops waiting for echoes. */
const ECHO_MISSES = 3;

/** Largest amount of unmatched output kept for matching; older text is dropped. */
const SEARCH_WINDOW = 256 * 1024;

/**
 * Longest line kept whole: a device printing without newlines has its output
 * logged in lines of this many characters (nothing lost), so the pending line
 * stays bounded and every piece fits a log record even when each character is
 * JSON-escaped six-fold.
 */
export const MAX_LINE = 16 * 1024;

/**
 * How far back before the newest output a match may begin. Each chunk is
 * searched together with this much of what came before it, never the whole
 * window again, so a flood costs time linear in its size. Prompts, signals and
 * markers are far shorter; a longer match is still found when it arrives
 * within one chunk.
 */
const MATCH_SPAN = 8 * 1024;

/** How much of the latest output is kept, matched or not, for a person who starts watching now. */
const RECENT_CHARS = 8 * 1024;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const toRegExp = (p: string | RegExp) => (typeof p === "string" ? new RegExp(escapeRegExp(p)) : p);
/** A copy that can start searching at an index (`lastIndex`) without losing what comes before it. */
const searchable = (p: RegExp) => new RegExp(p.source, p.flags.replace(/[gy]/g, "") + "g");

export interface ConsoleOptions {
  /** A partial line is logged after this long without more output (ms). */
  readonly flushIdleMs?: number;
  /** Called with every chunk (decoded), e.g. to keep a device-side transcript. */
  readonly onOutput?: (text: string) => void;
}

export class Console {
  /** Output not yet consumed by a match (at most about two search windows), in arrival order. */
  #unmatched: string[] = [];
  #unmatchedLength = 0;
  /** The last MATCH_SPAN + 1 characters of the unmatched output, the context each new chunk is searched with. */
  #tail = "";
  #pendingLine = "";
  #waiter: Waiter | undefined;
  #closed: string | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #watchers: { pattern: RegExp; onMatch(line: string): void }[] = [];
  readonly #listeners = new Set<(text: string) => void>();
  /** The last RECENT_CHARS characters the device printed. */
  #recent = "";
  /** Hears output while `type` waits for an echo. */
  #onEcho: ((text: string) => void) | undefined;
  /** Set once the device has let ECHO_MISSES characters in a row go unechoed. */
  #noEcho = false;
  readonly done: Promise<void>;
  /** A partial line was logged early; a bare line end that follows closes it, not a new line. */
  #afterPartial = false;

  constructor(
    private readonly transport: ConsoleTransport,
    private readonly log: JobLog,
    private readonly options: ConsoleOptions = {},
  ) {
    this.done = this.#read();
  }

  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Calls `onMatch` with every logged line matching `pattern` (kernel panics...). */
  watch(pattern: RegExp, onMatch: (line: string) => void): () => void {
    const watcher = { pattern, onMatch };
    this.#watchers.push(watcher);
    return () => this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
  }

  /** The latest output (what a screen would show), whether or not an expectation consumed it. */
  get recentOutput(): string {
    return this.#recent;
  }

  /** Calls `listener` with every chunk the device prints from now on (a reservation's relay); returns its removal. */
  listen(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder("utf-8");
    try {
      for await (const chunk of this.transport.readable) this.#receive(decoder.decode(chunk, { stream: true }));
      this.#receive(decoder.decode());
      this.#end("end of output");
    } catch (error) {
      this.#end((error as Error).message);
    }
  }

  /** Characters held for matching and for the pending line (bounded, whatever the device prints). */
  get heldChars(): number {
    return this.#unmatchedLength + this.#tail.length + this.#pendingLine.length;
  }

  #receive(text: string): void {
    if (text === "") return;
    this.options.onOutput?.(text);
    for (const listener of this.#listeners) listener(text);
    this.#recent = (this.#recent + text).slice(-RECENT_CHARS);
    this.#onEcho?.(text);
    let start = 0;
    let newline;
    while ((newline = text.indexOf("\n", start)) >= 0) {
      this.#appendPending(text.slice(start, newline));
      const line = this.#pendingLine;
      this.#pendingLine = "";
      this.#logLine(line);
      start = newline + 1;
    }
    this.#appendPending(text.slice(start));
    clearTimeout(this.#flushTimer);
    if (this.#pendingLine !== "") {
      this.#flushTimer = setTimeout(() => this.#flushPartial(), this.options.flushIdleMs ?? PARTIAL_LINE_IDLE_MS);
    }
    const context = this.#tail;
    const fresh = context + text;
    this.#keep(text);
    if (!this.#waiter) return;
    // A chunk larger than the window was trimmed as it was kept: search what is left of it.
    if (fresh.length > this.#unmatchedLength) this.#match();
    else this.#search(fresh, context.length > MATCH_SPAN ? 1 : 0);
  }

  /** Adds to the line being received; a line longer than MAX_LINE is logged in pieces. */
  #appendPending(piece: string): void {
    this.#pendingLine += piece;
    while (this.#pendingLine.length > MAX_LINE) {
      // Never between the two halves of a surrogate pair.
      const code = this.#pendingLine.charCodeAt(MAX_LINE - 1);
      const cut = code >= 0xd800 && code <= 0xdbff ? MAX_LINE - 1 : MAX_LINE;
      const line = this.#pendingLine.slice(0, cut);
      this.#pendingLine = this.#pendingLine.slice(cut);
      this.#logLine(line);
      this.#afterPartial = true;
    }
  }

  /** Stores unmatched output, dropping the oldest beyond the window (amortised: trimmed at twice its size). */
  #keep(text: string): void {
    this.#unmatched.push(text);
    this.#unmatchedLength += text.length;
    this.#tail = (this.#tail + text).slice(-(MATCH_SPAN + 1));
    if (this.#unmatchedLength > 2 * SEARCH_WINDOW) this.#reset(this.#unmatchedText().slice(-SEARCH_WINDOW));
  }

  #unmatchedText(): string {
    if (this.#unmatched.length > 1) this.#unmatched = [this.#unmatched.join("")];
    return this.#unmatched[0] ?? "";
  }

  #reset(text: string): void {
    this.#unmatched = text === "" ? [] : [text];
    this.#unmatchedLength = text.length;
    this.#tail = text.slice(-(MATCH_SPAN + 1));
  }

  #logLine(raw: string): void {
    const line = raw.replace(/\r+$/, "");
    const closesPartial = this.#afterPartial;
    this.#afterPartial = false;
    if (closesPartial && line === "") return;
    this.log.target(line);
    for (const watcher of this.#watchers) if (watcher.pattern.test(line)) watcher.onMatch(line);
  }

  #flushPartial(): void {
    if (this.#pendingLine === "") return;
    this.#logLine(this.#pendingLine);
    this.#pendingLine = "";
    this.#afterPartial = true;
  }

  /**
   * Searches `text` — the newest unmatched output — from `from` for the
   * waiter's patterns; the earliest match wins and consumes the output up to
   * its end.
   */
  #search(text: string, from: number): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    let best: { index: number; match: RegExpExecArray } | undefined;
    waiter.patterns.forEach((pattern, index) => {
      pattern.lastIndex = from;
      const match = pattern.exec(text);
      if (match && (!best || match.index < best.match.index)) best = { index, match };
    });
    if (!best) return;
    const all = this.#unmatchedText();
    // `text` is the end of the unmatched output.
    const offset = all.length - text.length;
    const end = best.match.index + best.match[0].length;
    const before = all.slice(Math.max(0, all.length - SEARCH_WINDOW), offset + best.match.index);
    this.#reset(text.slice(end));
    this.#waiter = undefined;
    // The match is acted on now, so what it matched is logged now too.
    if (this.#pendingLine !== "" && best.match[0].length > 0) this.#flushPartial();
    waiter.resolve({ index: best.index, match: best.match, before });
  }

  /** Searches everything unmatched (a new expect has not seen any of it). */
  #match(): void {
    this.#search(this.#unmatchedText(), 0);
  }

  #end(reason: string): void {
    clearTimeout(this.#flushTimer);
    this.#flushPartial();
    this.#closed = reason;
    this.#waiter?.reject(new ConsoleClosed(reason));
    this.#waiter = undefined;
  }

  /**
   * Waits until one of `patterns` appears in the output after the previous match;
   * rejects with {@link ExpectTimeout}, {@link ConsoleClosed}, or the abort reason.
   */
  expect(patterns: readonly (string | RegExp)[], timeoutMs: number, signal?: AbortSignal): Promise<ExpectMatch> {
    if (this.#waiter) return Promise.reject(new Error("an expect() is already waiting on this console"));
    return new Promise<ExpectMatch>((resolve, reject) => {
      const clock: { timer?: ReturnType<typeof setTimeout> } = {};
      const onAbort = () => finish(() => reject(signal!.reason ?? new Error("aborted")));
      const finish = (settle: () => void) => {
        clearTimeout(clock.timer);
        signal?.removeEventListener("abort", onAbort);
        if (this.#waiter === waiter) this.#waiter = undefined;
        settle();
      };
      const waiter: Waiter = {
        patterns: patterns.map((p) => searchable(toRegExp(p))),
        resolve: (m) => finish(() => resolve(m)),
        reject: (e) => finish(() => reject(e)),
      };
      if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
      if (this.#closed !== undefined && !this.#matchesNow(waiter)) return reject(new ConsoleClosed(this.#closed));
      this.#waiter = waiter;
      clock.timer = setTimeout(
        () => finish(() => reject(new ExpectTimeout(patterns, timeoutMs, this.#tail.slice(-200)))),
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#match();
    });
  }

  #matchesNow(waiter: Waiter): boolean {
    const text = this.#unmatchedText();
    return waiter.patterns.some((p) => {
      p.lastIndex = 0;
      return p.test(text);
    });
  }

  /**
   * Sends text to the device, a character at a time with `delayMs` between them
   * when the device needs it (slow UARTs, U-Boot). Logged as `input`.
   */
  async send(text: string, options: { delayMs?: number; log?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed !== undefined) throw new ConsoleClosed(this.#closed);
    if (options.log !== false) this.log.input(text.replace(/\r?\n$/, ""));
    const bytes = new TextEncoder().encode(text);
    const delay = options.delayMs ?? 0;
    if (delay <= 0) return await this.#write(bytes);
    for (const byte of bytes) {
      if (options.signal?.aborted) throw options.signal.reason;
      await this.#write(new Uint8Array([byte]));
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** A failed write (EPIPE, reset by peer) means the line is gone, like EOF does. */
  async #write(bytes: Uint8Array): Promise<void> {
    try {
      await this.transport.write(bytes);
    } catch (error) {
      throw new ConsoleClosed(error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * Types `text` a character at a time, each once the device has echoed the one
   * before, and never faster than `delayMs`. Firmware reads a polled UART a
   * character at a time when it gets round to it (iPXE once per BIOS tick, GRUB
   * between redraws); what arrives faster piles up along the line and is lost,
   * and a fixed delay long enough under load is slow everywhere else. A device
   * that does not echo is typed to at `delayMs` once ECHO_MISSES characters in a
   * row went unechoed for `echoTimeoutMs`. Logged as `input`, as `send` is.
   */
  async typeLine(
    text: string,
    options: {
      delayMs?: number;
      echoTimeoutMs?: number;
      signal?: AbortSignal;
      answerOnly?: boolean;
      /** What ends the line: a newline, unless the device wants a carriage return too (UEFI's "\r\n"). */
      lineEnd?: string;
    } = {},
  ): Promise<void> {
    if (this.#closed !== undefined) throw new ConsoleClosed(this.#closed);
    this.log.input(text);
    const encoder = new TextEncoder();
    const delay = Math.max(0, options.delayMs ?? 0);
    let misses = 0;
    for (const character of text) {
      if (options.signal?.aborted) throw options.signal.reason;
      const started = performance.now();
      const echoed = this.#noEcho ? Promise.resolve(true) : this.#echoOf(character, options.echoTimeoutMs ?? 1000);
      await this.#write(encoder.encode(character));
      if (await echoed) misses = 0;
      else if (++misses >= ECHO_MISSES) {
        this.#noEcho = true;
        this.log.debug(`the device echoes nothing typed: typing at ${delay} ms a character`);
      }
      const rest = delay - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
    // With `answerOnly`, what the device printed before reading the line (its echo, a prompt printed before the
    // line was typed) is dropped: the next expect sees only the line's answer.
    if (options.answerOnly) this.#reset("");
    // The line's end is not waited for: its echo comes with the command's answer.
    await this.#write(encoder.encode(options.lineEnd ?? "\n"));
  }

  /** Resolves true when output containing `character` arrives, false after `timeoutMs`. */
  #echoOf(character: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let heard = "";
      const done = (echoed: boolean) => {
        clearTimeout(timer);
        this.#onEcho = undefined;
        resolve(echoed);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#onEcho = (text) => {
        // Bounded: only the last few characters can still hold a redrawn echo.
        heard = (heard + text).slice(-256);
        if (heard.includes(character)) done(true);
      };
    });
  }

  /** `send(text + "\n")`. */
  sendLine(text: string, options: { delayMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    return this.send(`${text}\n`, options);
  }

  /** Discards unmatched output so the next expect only sees what comes after. */
  clearBuffer(): void {
    this.#reset("");
  }

  async close(): Promise<void> {
    await this.transport.close().catch(() => {});
    await this.done;
  }
}
