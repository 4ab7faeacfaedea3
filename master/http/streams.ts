/**
 * Live streams to clients — server-sent events and WebSockets — with bounds:
 * each client's queue holds at most `queueBytes`, and a client that falls that
 * far behind is disconnected rather than buffered for; a gate caps how many
 * streams one client (a user, or an address for anonymous callers) and the
 * whole master hold at once; and every subscription and listener a stream
 * takes is given back when it ends, however it ends.
 *
 * ```ts
 * if (!gate.admit(clientKey)) return c.json({ error: "too many streams" }, 429);
 * return eventStream((feed) => hub.subscribe((e) => feed.send({ data: JSON.stringify(e) })), { closing });
 * ```
 */

const KiB = 1024;

export const STREAM_LIMITS = {
  /** What one client's queue may hold before it is disconnected: many log batches, a few seconds of a busy lab. */
  queueBytes: 1024 * KiB,
  /** Streams one user (or one address, for anonymous clients) may hold at once. */
  perClient: 256,
  /** Streams the master holds at once. */
  total: 1024,
} as const;

export interface SseMessage {
  readonly event?: string;
  readonly id?: string;
  readonly data: string;
}

/** The sending side of one client's event stream. */
export interface Feed {
  /** Queues a live message; a client whose queue is over the bound is disconnected (and false returned). */
  send(message: SseMessage): boolean;
  /** Queues a message once the client has caught up (for what the server reads at its own pace, e.g. stored lines). */
  write(message: SseMessage): Promise<boolean>;
  /** Ends the stream once the client has read what is queued. */
  end(): void;
  /** Drops the client now (the queue is discarded). */
  fail(reason: string): void;
  /** True once the stream has ended, failed or the client has gone. */
  readonly closed: boolean;
}

export interface StreamOptions {
  /** Bytes a client's queue may hold (default STREAM_LIMITS.queueBytes). */
  readonly queueBytes?: number;
  /** Aborted when the master stops: every stream ends. */
  readonly closing?: AbortSignal;
  /** Called once when the stream is over, however it ended. */
  readonly onClose?: () => void;
}

const encoder = new TextEncoder();

/** Why a stream's body was ended early: the client fell behind. The HTTP server drops the connection on it. */
export class SlowClientError extends Error {
  override name = "SlowClientError";
}

export function formatSse(message: SseMessage): string {
  // A newline inside event or id would start a new field: the caller's values never have one, but make sure.
  const event = message.event?.replace(/[\r\n]/g, " ");
  const id = message.id?.replace(/[\r\n]/g, " ");
  // Most data is JSON, which has no raw line breaks: one field, without splitting (every follower's every batch).
  const data = /[\r\n]/.test(message.data)
    ? message.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`).join("\n")
    : `data: ${message.data}`;
  return `${event ? `event: ${event}\n` : ""}${data}\n${id !== undefined ? `id: ${id}\n` : ""}\n`;
}

/**
 * A `text/event-stream` response fed by `start`, which subscribes to what the
 * client follows and returns how to unsubscribe. The body is pulled by the HTTP
 * server as the socket drains, so what is queued here is exactly what the
 * client has not taken yet.
 */
export function eventStream(
  start: (feed: Feed) => (() => void) | void,
  options: StreamOptions = {},
): Response {
  const limit = options.queueBytes ?? STREAM_LIMITS.queueBytes;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ending = false;
  let closed = false;
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let pulling: (() => void) | undefined;
  const roomWaiters = new Set<() => void>();
  let unsubscribe: (() => void) | void = undefined;

  const wakeRoom = () => {
    for (const wake of roomWaiters) wake();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    queue.length = 0;
    queued = 0;
    options.closing?.removeEventListener("abort", onClosing);
    pulling?.();
    wakeRoom();
    try {
      unsubscribe?.();
    } finally {
      options.onClose?.();
    }
  };
  const onClosing = () => {
    ending = true;
    pulling?.();
  };
  const enqueue = (message: SseMessage) => {
    const bytes = encoder.encode(formatSse(message));
    queue.push(bytes);
    queued += bytes.byteLength;
    pulling?.();
  };
  const feed: Feed = {
    send(message) {
      if (closed || ending) return false;
      enqueue(message);
      if (queued > limit) {
        feed.fail(`the client fell more than ${limit} bytes behind`);
        return false;
      }
      return true;
    },
    async write(message) {
      while (!closed && !ending && queued > limit / 2) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            roomWaiters.delete(wake);
            resolve();
          };
          roomWaiters.add(wake);
        });
      }
      if (closed || ending) return false;
      enqueue(message);
      return true;
    },
    end() {
      ending = true;
      pulling?.();
    },
    fail(reason) {
      if (closed) return;
      const c = controller;
      close();
      // Erroring the body makes the server drop the connection instead of waiting to flush it.
      c?.error(new SlowClientError(reason));
    },
    get closed() {
      return closed;
    },
  };

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (options.closing?.aborted) ending = true;
      options.closing?.addEventListener("abort", onClosing, { once: true });
      try {
        unsubscribe = start(feed);
      } catch (error) {
        close();
        throw error;
      }
      if (closed) unsubscribe?.();
    },
    async pull(c) {
      while (!closed && queue.length === 0 && !ending) {
        await new Promise<void>((resolve) => (pulling = resolve));
        pulling = undefined;
      }
      if (closed) return;
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.byteLength;
        c.enqueue(chunk);
        wakeRoom();
        return;
      }
      // Ending, and everything queued has gone out.
      close();
      c.close();
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });

  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    },
  });
}

/**
 * Caps on concurrent streams: `admit` gives a release function, or undefined
 * when the client or the master already holds its share.
 */
export class StreamGate {
  readonly #perClient = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: { readonly perClient: number; readonly total: number } = STREAM_LIMITS) {}

  get total(): number {
    return this.#total;
  }

  admit(client: string): (() => void) | undefined {
    const held = this.#perClient.get(client) ?? 0;
    if (held >= this.limits.perClient || this.#total >= this.limits.total) return undefined;
    this.#perClient.set(client, held + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    };
  }
}

/**
 * Sends on a server-side WebSocket with the same bound: when more than
 * `queueBytes` wait in the socket's buffer the client is not keeping up, and
 * the socket is closed (code 1008) rather than buffered for.
 */
export function boundedSend(socket: WebSocket, data: string, queueBytes: number = STREAM_LIMITS.queueBytes): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  if (socket.bufferedAmount + data.length > queueBytes) {
    socket.close(1008, "the client does not keep up");
    return false;
  }
  socket.send(data);
  return true;
}
