/**
 * The one place a process waits for ZeroMQ traffic. libzmq sockets are not thread
 * safe, so the reactor alternates two phases on the main thread's behalf:
 *
 *   1. poll: `zmq_poll` runs on a helper thread (a non-blocking FFI call) while
 *      nothing else touches the sockets;
 *   2. work: back on the main thread, it receives what arrived, hands it to the
 *      sockets' handlers, sends what was queued and runs queued socket operations.
 *
 * Code that wants to send or bind while a poll is in flight queues the work and
 * wakes the poll through an inproc PAIR socket that only the main thread writes.
 */
import { libzmq, POLLIN, SocketType, ZmqError } from "./ffi.ts";
import { type ReceivedMessage, ZmqSocket } from "./socket.ts";

/** Failures in a row of a call made again after a signal before it counts as broken. */
const MAX_INTERRUPTED = 1000;

const POLLITEM_SIZE = 16; // sizeof(zmq_pollitem_t) on 64-bit Linux
/** Messages received from one socket per work phase, so a flood cannot starve the rest. */
const RECEIVE_BATCH = 2048;

export type MessageHandler = (message: ReceivedMessage) => void;

/** A socket owned by a reactor. Sends are queued and may be dropped; see {@link send}. */
export interface ReactorSocket {
  readonly type: SocketType;
  /**
   * Queues a multipart message. It is dropped (and counted) when the peer's queue
   * is full or a ROUTER does not know the peer: Basalt's mailboxes retransmit, so
   * the transport never blocks a process on a slow or absent peer.
   */
  send(frames: readonly Uint8Array<ArrayBuffer>[]): void;
  /** Runs `fn` with the raw socket at the next work phase (options, bind, connect). */
  configure<T>(fn: (socket: ZmqSocket) => T): Promise<T>;
  /** Messages dropped because the peer could not take them. */
  readonly dropped: number;
  close(): Promise<void>;
}

interface Entry {
  socket: ZmqSocket;
  handler: MessageHandler | undefined;
  outgoing: (readonly Uint8Array<ArrayBuffer>[])[];
  dropped: number;
}

let reactorCount = 0;

export class ZmqReactor {
  readonly #context: Deno.PointerValue;
  readonly #entries: Entry[] = [];
  readonly #wakeReceiver: ZmqSocket;
  readonly #wakeSender: ZmqSocket;
  #tasks: (() => void)[] = [];
  #polling = false;
  #woken = false;
  #closing = false;
  #loop: Promise<void> | undefined;
  #items = new Uint8Array(0);
  #itemsDirty = true;
  /** Called when a handler throws: the reactor keeps serving the other sockets. */
  onHandlerError: (error: unknown) => void = (error) => console.error("zmq handler failed:", error);

  constructor() {
    const context = libzmq().zmq_ctx_new();
    if (context === null) throw new ZmqError("zmq_ctx_new", libzmq().zmq_errno());
    this.#context = context;
    const endpoint = `inproc://basalt-reactor-wake-${Deno.pid}-${reactorCount++}`;
    this.#wakeReceiver = new ZmqSocket(context, SocketType.PAIR);
    this.#wakeReceiver.bind(endpoint);
    this.#wakeSender = new ZmqSocket(context, SocketType.PAIR);
    this.#wakeSender.connect(endpoint);
  }

  /** The libzmq context, for sockets that must share it (inproc, ZAP). */
  get context(): Deno.PointerValue {
    return this.#context;
  }

  /**
   * Creates a socket; `handler` receives every message that arrives on it. Options
   * that must precede bind/connect are set in `setup`, which runs before the socket
   * joins the poll.
   */
  async socket(type: SocketType, setup: (socket: ZmqSocket) => void, handler?: MessageHandler): Promise<ReactorSocket> {
    const entry = await this.#inWorkPhase(() => {
      const socket = new ZmqSocket(this.#context, type);
      try {
        setup(socket);
      } catch (error) {
        socket.close();
        throw error;
      }
      const entry: Entry = { socket, handler, outgoing: [], dropped: 0 };
      this.#entries.push(entry);
      this.#itemsDirty = true;
      return entry;
    });
    return {
      type,
      send: (frames) => {
        if (entry.socket.closed) throw new Error("send on a closed socket");
        entry.outgoing.push(frames);
        this.#wake();
      },
      configure: (fn) => this.#inWorkPhase(() => fn(entry.socket)),
      get dropped() {
        return entry.dropped;
      },
      close: () =>
        this.#inWorkPhase(() => {
          const index = this.#entries.indexOf(entry);
          if (index >= 0) this.#entries.splice(index, 1);
          this.#itemsDirty = true;
          entry.socket.close();
        }),
    };
  }

  /** Stops polling, closes every socket and terminates the context. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#wake();
    await this.#loop;
    for (const entry of this.#entries) entry.socket.close();
    this.#entries.length = 0;
    this.#wakeSender.close();
    this.#wakeReceiver.close();
    // zmq_ctx_term runs on another thread, so its errno cannot be read here; the one
    // failure it has besides a bad context is a signal interrupting it: end it again.
    for (let i = 0; i < MAX_INTERRUPTED && await libzmq().zmq_ctx_term(this.#context) < 0; i++) { /* again */ }
  }

  #inWorkPhase<T>(fn: () => T): Promise<T> {
    if (this.#closing) return Promise.reject(new Error("the ZeroMQ reactor is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#tasks.push(() => {
        try {
          resolve(fn());
        } catch (error) {
          reject(error);
        }
      });
      this.#wake();
    });
  }

  #wake(): void {
    this.#loop ??= this.#run();
    if (!this.#polling || this.#woken) return;
    this.#woken = true;
    this.#wakeSender.trySend([new Uint8Array(1)]);
  }

  async #run(): Promise<void> {
    // Start on a later turn so the caller that triggered us finishes first.
    await Promise.resolve();
    let interrupted = 0;
    while (true) {
      this.#work();
      if (this.#closing) return;
      if (this.#itemsDirty) this.#buildItems();
      this.#polling = true;
      const ready = await libzmq().zmq_poll(this.#items, this.#entries.length + 1, -1n);
      this.#polling = false;
      this.#woken = false;
      if (ready < 0) {
        // zmq_poll ran on another thread, whose errno cannot be read here: a signal
        // interrupting it (EINTR) is the one failure that is not a bug, so poll again —
        // unless it keeps failing.
        if (++interrupted > MAX_INTERRUPTED) throw new Error(`zmq_poll failed ${MAX_INTERRUPTED} times in a row`);
        continue;
      }
      interrupted = 0;
      while (this.#wakeReceiver.tryReceive()) { /* drained */ }
      this.#receive();
    }
  }

  #buildItems(): void {
    const sockets = [this.#wakeReceiver, ...this.#entries.map((e) => e.socket)];
    this.#items = new Uint8Array(POLLITEM_SIZE * sockets.length);
    const view = new DataView(this.#items.buffer);
    sockets.forEach((socket, i) => {
      view.setBigUint64(i * POLLITEM_SIZE, BigInt(Deno.UnsafePointer.value(socket.pointer)), true);
      view.setInt16(i * POLLITEM_SIZE + 12, POLLIN, true);
    });
    this.#itemsDirty = false;
  }

  #receive(): void {
    const view = new DataView(this.#items.buffer);
    // Items are rebuilt only in the work phase, so index i+1 is still entry i here.
    const entries = [...this.#entries];
    entries.forEach((entry, i) => {
      if ((view.getInt16((i + 1) * POLLITEM_SIZE + 14, true) & POLLIN) === 0 || entry.socket.closed) return;
      for (let n = 0; n < RECEIVE_BATCH; n++) {
        const message = entry.socket.tryReceive();
        if (!message) break;
        if (!entry.handler) continue;
        try {
          entry.handler(message);
        } catch (error) {
          this.onHandlerError(error);
        }
      }
    });
  }

  #work(): void {
    // Tasks queued by handlers or by earlier tasks run in this same phase.
    while (this.#tasks.length > 0) {
      const tasks = this.#tasks;
      this.#tasks = [];
      for (const task of tasks) task();
    }
    for (const entry of this.#entries) {
      if (entry.outgoing.length === 0) continue;
      const outgoing = entry.outgoing;
      entry.outgoing = [];
      for (const frames of outgoing) {
        if (entry.socket.trySend(frames) !== "sent") entry.dropped++;
      }
    }
  }
}
