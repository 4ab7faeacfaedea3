/**
 * Serving a live stream to one client, the one way every stream route does it:
 * the client is admitted within the stream caps (429 past them), then fed as
 * server-sent events or over a WebSocket through the same `Feed`, and whatever
 * the stream took — its place under the caps, its subscriptions, its listener
 * on the master's closing — is given back however it ends.
 *
 * ```ts
 * app.get("/api/v1/events", (c) =>
 *   live.sse(c, (feed) => subscribed(feed, "event stream", hub.subscribe((e) => feed.send({ data: e })))));
 * ```
 */
import type { Context } from "hono";
import type { HttpEnv } from "./env.ts";
import { boundedSend, eventStream, type Feed, type StreamGate } from "./streams.ts";

/** Starts feeding a stream; returns how to stop. */
export type Follow = (feed: Feed) => () => void;

export class LiveStreams {
  /**
   * @param gate caps on concurrent streams
   * @param closing aborted when the master stops: open streams end, so the server can
   */
  constructor(readonly gate: StreamGate, readonly closing?: AbortSignal) {}

  /** A `text/event-stream` answer fed by `follow`. */
  sse(c: Context<HttpEnv>, follow: Follow): Response {
    return this.#admit(c, (release) => eventStream(follow, { closing: this.closing, onClose: release }));
  }

  /** A WebSocket fed by `follow` once it is open; 400 to a request that is not an upgrade. */
  websocket(c: Context<HttpEnv>, follow: Follow): Response {
    return this.socket(c, (socket) => {
      let unsubscribe: (() => void) | undefined;
      const stopSending = () => {
        unsubscribe?.();
        unsubscribe = undefined;
      };
      socket.addEventListener("open", () => unsubscribe = follow(socketFeed(socket, stopSending)));
      return stopSending;
    });
  }

  /**
   * A WebSocket within the stream caps, for routes that also read what the client sends: `attach` sets its
   * handlers and returns what to undo when the connection is really gone. 400 to a request that is not an upgrade.
   */
  socket(c: Context<HttpEnv>, attach: (socket: WebSocket) => () => void): Response {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return c.text("WebSocket only", 400);
    return this.#admit(c, (release) => {
      // A client that answers no ping within 10 s is gone, or stalled behind its own unread data: it is dropped.
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 10 });
      const close = () => socket.close();
      this.closing?.addEventListener("abort", close, { once: true });
      const detach = attach(socket);
      // The stream's place is given back only when the connection is really gone: a client that was sent a close
      // frame and never answers it keeps its TCP connection (Deno cannot abort one), and must keep counting.
      let done = false;
      const cleanup = () => {
        if (done) return;
        done = true;
        detach();
        this.closing?.removeEventListener("abort", close);
        release();
      };
      socket.addEventListener("close", cleanup);
      socket.addEventListener("error", cleanup);
      return response;
    });
  }

  /** Runs `open` if the client may hold one more stream; otherwise 429. */
  #admit(c: Context<HttpEnv>, open: (release: () => void) => Response): Response {
    const release = this.gate.admit(clientKey(c));
    if (!release) {
      const { perClient, total } = this.gate.limits;
      return c.json({ error: `too many open streams (at most ${perClient} per client, ${total} in all)` }, 429);
    }
    try {
      return open(release);
    } catch (error) {
      release();
      throw error;
    }
  }
}

/** Who holds a stream, for the caps: the user, or the address of an anonymous client. */
function clientKey(c: Context<HttpEnv>): string {
  const user = c.get("user");
  if (user) return `user:${user.id}`;
  const address = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
  return `address:${address ?? "unknown"}`;
}

/**
 * A WebSocket as a feed: each message's data is one frame. A client that does not keep up is sent a close frame
 * and nothing more (`stop` ends the subscription), not buffered for.
 */
function socketFeed(socket: WebSocket, stop: () => void): Feed {
  const feed: Feed = {
    send(message) {
      if (boundedSend(socket, message.data)) return true;
      stop();
      return false;
    },
    write: (message) => Promise.resolve(feed.send(message)),
    end: () => socket.close(),
    fail: (reason) => socket.close(1011, reason),
    get closed() {
      return socket.readyState !== WebSocket.OPEN;
    },
  };
  return feed;
}

/**
 * Feeds a stream from a subscription still being made: the returned stop may be called before it is made (it is
 * then ended once made). If subscribing fails, the failure is logged and the stream fails with `${what} failed`.
 */
export function subscribed(feed: Feed, what: string, subscribing: Promise<() => void>): () => void {
  let stop: (() => void) | undefined;
  let ended = false;
  subscribing.then((unsubscribe) => {
    if (ended) unsubscribe();
    else stop = unsubscribe;
  }, (error) => {
    console.error(`${what} failed`, error);
    feed.fail(`${what} failed`);
  });
  return () => {
    ended = true;
    stop?.();
  };
}
