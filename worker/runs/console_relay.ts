/**
 * The worker's part of a reservation's console: it connects to the socket the
 * job's dispatcher opened (when the job's log says so, or on restart when the
 * socket is there) and relays frames both ways over the mailbox's transient
 * kinds. Nothing is kept: a frame the master cannot take now is dropped, since
 * the job's log is the record and a reconnected viewer is sent the screen again
 * by the master.
 */
import { jobAddress, type LabProtocol } from "../../actors/lab/protocol.ts";
import {
  type DownFrame,
  encodeFrameLine,
  MAX_FRAME_LINE,
  parseUpFrame,
  readFrameLines,
} from "../../actors/lab/console_frames.ts";
import type { MailboxEndpoint } from "../../actors/mailbox/endpoint.ts";
import { isProblem } from "../../actors/mailbox/protocol.ts";
import type { Logger } from "../../actors/runtime/log.ts";

const MASTER = "master";
/** Keystrokes waiting for the socket before the connection is judged stuck and dropped. */
const MAX_PENDING_DOWN = 256;

interface Relay {
  readonly conn: Deno.UnixConn;
  pending: Uint8Array[];
  writing: boolean;
}

export class ConsoleRelays {
  readonly #relays = new Map<string, Relay>();
  readonly #log: Logger;

  constructor(private readonly mailbox: MailboxEndpoint<LabProtocol, unknown>, logger: Logger) {
    this.#log = logger.with({ component: "console" });
  }

  /** Connects to a job's console socket; false when there is none to connect to. */
  async attach(job: string, socket: string): Promise<boolean> {
    if (this.#relays.has(job)) return true;
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path: socket });
    } catch (error) {
      this.#log.debug("no console socket to attach to", { job, error: (error as Error).message });
      return false;
    }
    const relay: Relay = { conn, pending: [], writing: false };
    this.#relays.set(job, relay);
    this.#log.info("attached to a reservation's console", { job });
    (async () => {
      for await (const value of readFrameLines(conn.readable, MAX_FRAME_LINE)) {
        const frame = parseUpFrame(value);
        if (isProblem(frame)) {
          this.#log.warning("the dispatcher sent a console frame that does not parse; dropped", { job, ...frame });
          continue;
        }
        this.mailbox.sendTransient(MASTER, jobAddress(job), "console.up", { job, frame });
      }
    })().catch((error) => this.#log.warning("a console connection failed", { job, error: String(error) }))
      .finally(() => this.#close(job, relay));
    return true;
  }

  /** A frame from the holder, for the job's device; dropped when its console is not attached. */
  down(job: string, frame: DownFrame): void {
    const relay = this.#relays.get(job);
    if (!relay) return;
    if (relay.pending.length >= MAX_PENDING_DOWN) {
      this.#log.warning("a reservation's console does not take input; its connection is dropped", { job });
      return this.#close(job, relay);
    }
    relay.pending.push(encodeFrameLine(frame));
    if (!relay.writing) void this.#flush(job, relay);
  }

  async #flush(job: string, relay: Relay): Promise<void> {
    relay.writing = true;
    try {
      while (relay.pending.length > 0) {
        const line = relay.pending.shift()!;
        let written = 0;
        while (written < line.length) written += await relay.conn.write(line.subarray(written));
      }
    } catch {
      this.#close(job, relay);
    } finally {
      relay.writing = false;
    }
  }

  #close(job: string, relay: Relay): void {
    if (this.#relays.get(job) === relay) this.#relays.delete(job);
    try {
      relay.conn.close();
    } catch { /* closed already */ }
  }

  /** Closes every relay (the worker stops; the dispatchers' sockets stay for the next worker). */
  close(): void {
    for (const [job, relay] of [...this.#relays]) this.#close(job, relay);
  }
}
