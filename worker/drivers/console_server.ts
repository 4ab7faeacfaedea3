/**
 * The dispatcher's end of a reservation's console: a Unix socket in the job's
 * own directory that its worker connects to (again, after a restart). Frames
 * are newline-delimited JSON (actors/lab/console_frames.ts). What the device
 * prints goes to every connection; a connection that cannot keep up is dropped
 * rather than let its backlog grow, and the worker that owned it reconnects.
 */
import {
  type DownFrame,
  encodeFrameLine,
  MAX_FRAME_LINE,
  parseDownFrame,
  readFrameLines,
  type UpFrame,
} from "../../actors/lab/console_frames.ts";
import { isProblem } from "../../actors/mailbox/protocol.ts";
import { concatBytes } from "../../actors/bytes.ts";

/** Bytes a connection may have waiting to be written before it is dropped. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** The longest path a Unix socket can have (sun_path, less its terminator). */
const MAX_SOCKET_PATH = 107;

interface Client {
  readonly conn: Deno.UnixConn;
  queue: Uint8Array[];
  queued: number;
  writing: boolean;
  closed: boolean;
}

export interface ConsoleServerOptions {
  readonly path: string;
  /** A frame from a connection (the worker relaying the holder). */
  readonly onFrame: (frame: DownFrame) => void;
  /** What a new connection is told first (the reservation's state). */
  readonly greeting: () => readonly UpFrame[];
  /** A connection sent something that is not a frame, or too much of it. */
  readonly onProblem?: (problem: string) => void;
}

export class ConsoleServer {
  readonly #clients = new Set<Client>();
  readonly #listener: Deno.UnixListener;
  readonly #accepting: Promise<void>;

  private constructor(private readonly o: ConsoleServerOptions) {
    if (new TextEncoder().encode(o.path).length > MAX_SOCKET_PATH) {
      throw new Error(`the console socket's path is longer than ${MAX_SOCKET_PATH} bytes: ${o.path}`);
    }
    try {
      Deno.removeSync(o.path);
    } catch { /* none left over */ }
    this.#listener = Deno.listen({ transport: "unix", path: o.path });
    this.#accepting = this.#accept();
  }

  static listen(options: ConsoleServerOptions): ConsoleServer {
    return new ConsoleServer(options);
  }

  get connections(): number {
    return this.#clients.size;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#serve(conn);
    } catch { /* closed */ }
  }

  #serve(conn: Deno.UnixConn): void {
    const client: Client = { conn, queue: [], queued: 0, writing: false, closed: false };
    this.#clients.add(client);
    for (const frame of this.o.greeting()) this.#send(client, encodeFrameLine(frame));
    (async () => {
      for await (const value of readFrameLines(conn.readable, MAX_FRAME_LINE)) {
        const frame = parseDownFrame(value);
        if (isProblem(frame)) this.o.onProblem?.(frame.problem);
        else this.o.onFrame(frame);
      }
    })().catch((error) => this.o.onProblem?.(error instanceof Error ? error.message : String(error)))
      .finally(() => this.#drop(client));
  }

  /** Sends a frame to every connection. */
  broadcast(frame: UpFrame): void {
    if (this.#clients.size === 0) return;
    const line = encodeFrameLine(frame);
    for (const client of this.#clients) this.#send(client, line);
  }

  #send(client: Client, line: Uint8Array): void {
    if (client.closed) return;
    if (client.queued + line.length > MAX_BACKLOG_BYTES) {
      this.o.onProblem?.("a console connection fell behind; it is dropped");
      return this.#drop(client);
    }
    client.queue.push(line);
    client.queued += line.length;
    if (!client.writing) this.#flush(client);
  }

  async #flush(client: Client): Promise<void> {
    client.writing = true;
    try {
      while (client.queue.length > 0 && !client.closed) {
        const batch = client.queue.length === 1 ? client.queue[0] : concatBytes(client.queue);
        client.queue = [];
        client.queued = 0;
        let written = 0;
        while (written < batch.length) written += await client.conn.write(batch.subarray(written));
      }
    } catch {
      this.#drop(client);
    } finally {
      client.writing = false;
    }
  }

  #drop(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    this.#clients.delete(client);
    try {
      client.conn.close();
    } catch { /* already closed */ }
  }

  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const client of [...this.#clients]) this.#drop(client);
    await this.#accepting;
    try {
      Deno.removeSync(this.o.path);
    } catch { /* gone */ }
  }
}
