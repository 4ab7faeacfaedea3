/**
 * One ZeroMQ socket. Every call is synchronous and must come from the thread that
 * owns the socket, never while a poll on it is in flight: the reactor guarantees
 * both, so only reactor.ts and code it calls back use this class.
 */
import { cString, DONTWAIT, Errno, libzmq, Option, SNDMORE, type SocketType, ZmqError } from "./ffi.ts";

const MSG_T_SIZE = 64; // sizeof(zmq_msg_t)
/**
 * Largest frame a socket takes unless its owner raises it (ZMQ_MAXMSGSIZE):
 * libzmq drops a connection that announces a larger one before allocating it,
 * so no socket that listens on the network can be made to hold a frame of any
 * size (a PUB socket's subscriptions included). Mailboxes raise it to their own
 * bound (MAX_FRAME_BYTES).
 */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const USER_ID = cString("User-Id");

/** A received multipart message, with the ZAP user id of its connection if any. */
export interface ReceivedMessage {
  readonly frames: Uint8Array[];
  readonly userId: string | undefined;
}

export type SendOutcome = "sent" | "again" | "unreachable";

export class ZmqSocket {
  #pointer: Deno.PointerValue;
  readonly #message = new Uint8Array(MSG_T_SIZE);

  constructor(context: Deno.PointerValue, readonly type: SocketType) {
    const pointer = libzmq().zmq_socket(context, type);
    if (pointer === null) throw new ZmqError("zmq_socket", libzmq().zmq_errno());
    this.#pointer = pointer;
    this.setInt(Option.LINGER, 0);
    this.setInt64(Option.MAXMSGSIZE, DEFAULT_MAX_FRAME_BYTES);
  }

  /** The raw handle, for building poll items. */
  get pointer(): Deno.PointerValue {
    if (this.#pointer === null) throw new Error("socket is closed");
    return this.#pointer;
  }

  get closed(): boolean {
    return this.#pointer === null;
  }

  setInt(option: number, value: number): void {
    const buffer = new Int32Array([value]);
    this.#check("zmq_setsockopt", libzmq().zmq_setsockopt(this.pointer, option, new Uint8Array(buffer.buffer), 4n));
  }

  /** For the options libzmq declares as int64_t (MAXMSGSIZE). */
  setInt64(option: number, value: number): void {
    const buffer = new BigInt64Array([BigInt(value)]);
    this.#check("zmq_setsockopt", libzmq().zmq_setsockopt(this.pointer, option, new Uint8Array(buffer.buffer), 8n));
  }

  setBytes(option: number, value: Uint8Array<ArrayBuffer>): void {
    this.#check("zmq_setsockopt", libzmq().zmq_setsockopt(this.pointer, option, value, BigInt(value.length)));
  }

  setString(option: number, value: string): void {
    this.setBytes(option, new TextEncoder().encode(value));
  }

  getInt(option: number): number {
    const value = new Int32Array(1);
    const size = new BigUint64Array([4n]);
    this.#check(
      "zmq_getsockopt",
      libzmq().zmq_getsockopt(this.pointer, option, new Uint8Array(value.buffer), new Uint8Array(size.buffer)),
    );
    return value[0];
  }

  getString(option: number): string {
    const value = new Uint8Array(1024);
    const size = new BigUint64Array([BigInt(value.length)]);
    this.#check("zmq_getsockopt", libzmq().zmq_getsockopt(this.pointer, option, value, new Uint8Array(size.buffer)));
    const length = Number(size[0]);
    return new TextDecoder().decode(value.subarray(0, length > 0 && value[length - 1] === 0 ? length - 1 : length));
  }

  bind(endpoint: string): string {
    this.#check(`zmq_bind ${endpoint}`, libzmq().zmq_bind(this.pointer, cString(endpoint)));
    return this.getString(Option.LAST_ENDPOINT);
  }

  unbind(endpoint: string): void {
    this.#check(`zmq_unbind ${endpoint}`, libzmq().zmq_unbind(this.pointer, cString(endpoint)));
  }

  connect(endpoint: string): void {
    this.#check(`zmq_connect ${endpoint}`, libzmq().zmq_connect(this.pointer, cString(endpoint)));
  }

  disconnect(endpoint: string): void {
    this.#check(`zmq_disconnect ${endpoint}`, libzmq().zmq_disconnect(this.pointer, cString(endpoint)));
  }

  /**
   * Sends all frames or none: "again" when the peer's queue is full, "unreachable"
   * when a ROUTER (with ROUTER_MANDATORY) does not know the addressed peer.
   */
  trySend(frames: readonly Uint8Array<ArrayBuffer>[]): SendOutcome {
    const zmq = libzmq();
    for (let i = 0; i < frames.length; i++) {
      const flags = DONTWAIT | (i < frames.length - 1 ? SNDMORE : 0);
      if (zmq.zmq_send(this.pointer, frames[i], BigInt(frames[i].length), flags) >= 0) continue;
      const errno = zmq.zmq_errno();
      // A signal (a profiler's, a child's end) interrupted libzmq before it took the frame: send it again.
      if (errno === Errno.EINTR) {
        i--;
        continue;
      }
      // A multipart message is atomic in ZeroMQ: once the first frame is accepted
      // the rest cannot fail with EAGAIN, so these cases only arise at frame 0.
      if (errno === Errno.EAGAIN && i === 0) return "again";
      if (errno === Errno.EHOSTUNREACH && i === 0) return "unreachable";
      throw new ZmqError("zmq_send", errno);
    }
    return "sent";
  }

  /** The next whole multipart message, or undefined when none is waiting. */
  tryReceive(): ReceivedMessage | undefined {
    const zmq = libzmq();
    const frames: Uint8Array[] = [];
    let userId: string | undefined;
    while (true) {
      zmq.zmq_msg_init(this.#message);
      const size = zmq.zmq_msg_recv(this.#message, this.pointer, DONTWAIT);
      if (size < 0) {
        const errno = zmq.zmq_errno();
        zmq.zmq_msg_close(this.#message);
        if (errno === Errno.EAGAIN && frames.length === 0) return undefined;
        // Interrupted by a signal before a frame was taken: it is still queued, so ask again.
        if (errno === Errno.EINTR) continue;
        throw new ZmqError("zmq_msg_recv", errno);
      }
      frames.push(copyOut(zmq.zmq_msg_data(this.#message), size));
      // A ROUTER's own identity frame carries no connection metadata; the peer's frames do.
      if (userId === undefined) {
        const property = zmq.zmq_msg_gets(this.#message, USER_ID);
        if (property !== null) userId = Deno.UnsafePointerView.getCString(property);
      }
      const more = zmq.zmq_msg_more(this.#message) === 1;
      zmq.zmq_msg_close(this.#message);
      if (!more) return { frames, userId };
    }
  }

  close(): void {
    if (this.#pointer === null) return;
    libzmq().zmq_close(this.#pointer);
    this.#pointer = null;
  }

  #check(call: string, result: number): void {
    if (result < 0) throw new ZmqError(call, libzmq().zmq_errno());
  }
}

function copyOut(pointer: Deno.PointerValue, size: number): Uint8Array {
  if (size === 0 || pointer === null) return new Uint8Array(0);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, size).slice(0));
}
