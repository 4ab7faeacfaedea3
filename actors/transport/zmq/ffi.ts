/**
 * The part of Debian's libzmq5 (libzmq 4.3) that Basalt calls, through Deno FFI.
 * `npm:zeromq` hangs under Deno 2 (see the README), so this small binding is the
 * whole of Basalt's contact with ZeroMQ; everything above it speaks mailboxes.
 *
 * Only `zmq_poll` is a non-blocking (threaded) call: it waits for traffic off the
 * main thread while no other call touches the polled sockets (see reactor.ts).
 */

const LIBRARY_CANDIDATES = [
  "libzmq.so.5",
  "/usr/lib/x86_64-linux-gnu/libzmq.so.5",
  "/usr/lib/aarch64-linux-gnu/libzmq.so.5",
];

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_has: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_unbind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_disconnect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_gets: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32", nonblocking: true },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_z85_encode: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  zmq_z85_decode: { parameters: ["buffer", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type LibZmq = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** Thrown when libzmq5 is not installed or not loadable. */
export class LibZmqMissingError extends Error {
  constructor(cause: unknown) {
    super(
      `cannot load ZeroMQ (libzmq.so.5): ${cause instanceof Error ? cause.message : cause}. ` +
        `Install Debian's libzmq5 (apt-get install libzmq5) and run with --allow-ffi.`,
      { cause },
    );
    this.name = "LibZmqMissingError";
  }
}

/** The loaded library; opened on first use and kept for the life of the process. */
export function libzmq(): LibZmq {
  if (library) return library.symbols;
  let lastError: unknown;
  for (const path of LIBRARY_CANDIDATES) {
    try {
      library = Deno.dlopen(path, SYMBOLS);
      return library.symbols;
    } catch (error) {
      lastError = error;
    }
  }
  throw new LibZmqMissingError(lastError);
}

// Socket types, options, flags and errors from zmq.h (libzmq 4.3).
export const SocketType = { PAIR: 0, PUB: 1, SUB: 2, REQ: 3, REP: 4, DEALER: 5, ROUTER: 6 } as const;
export type SocketType = (typeof SocketType)[keyof typeof SocketType];

export const Option = {
  ROUTING_ID: 5,
  SUBSCRIBE: 6,
  RCVMORE: 13,
  EVENTS: 15,
  LINGER: 17,
  RECONNECT_IVL: 18,
  RECONNECT_IVL_MAX: 21,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  LAST_ENDPOINT: 32,
  ROUTER_MANDATORY: 33,
  IMMEDIATE: 39,
  CURVE_SERVER: 47,
  CURVE_PUBLICKEY: 48,
  CURVE_SECRETKEY: 49,
  CURVE_SERVERKEY: 50,
  ZAP_DOMAIN: 55,
  ROUTER_HANDOVER: 56,
  HANDSHAKE_IVL: 66,
  HEARTBEAT_IVL: 75,
  HEARTBEAT_TTL: 76,
  HEARTBEAT_TIMEOUT: 77,
  CONNECT_TIMEOUT: 79,
} as const;

export const DONTWAIT = 1;
export const SNDMORE = 2;
export const POLLIN = 1;
export const POLLOUT = 2;

export const Errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINVAL: 22,
  EHOSTUNREACH: 113,
  ETERM: 156384712 + 53,
} as const;

/** A failed libzmq call, with the C error number and libzmq's own text for it. */
export class ZmqError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${strerror(errno)} (errno ${errno})`);
    this.name = "ZmqError";
  }
}

export function strerror(errno: number): string {
  const pointer = libzmq().zmq_strerror(errno);
  return pointer ? Deno.UnsafePointerView.getCString(pointer) : `error ${errno}`;
}

/** NUL-terminated UTF-8, as C string parameters need. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** libzmq's version as [major, minor, patch]. */
export function zmqVersion(): [number, number, number] {
  const parts = [new Int32Array(1), new Int32Array(1), new Int32Array(1)];
  libzmq().zmq_version(parts[0], parts[1], parts[2]);
  return [parts[0][0], parts[1][0], parts[2][0]];
}

/** Whether the library was built with a capability, e.g. "curve". */
export function zmqHas(capability: string): boolean {
  return libzmq().zmq_has(cString(capability)) === 1;
}
