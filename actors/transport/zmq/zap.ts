/**
 * A ZAP handler (ZeroMQ RFC 27) for CurveZMQ servers in this process: libzmq asks
 * it about every new connection, and only clients whose public key is allowed get
 * through. The name it returns becomes the connection's "User-Id", which the
 * mailbox checks against the sender's claimed name on every message.
 */
import { SocketType } from "./ffi.ts";
import type { ZmqReactor } from "./reactor.ts";
import { readAllowedKeys, z85Encode } from "./curve.ts";

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

export interface ZapDecision {
  /** The peer's name (User-Id) when allowed; undefined to refuse. */
  readonly userId: string | undefined;
}

export interface ZapRequest {
  readonly domain: string;
  readonly address: string;
  readonly routingId: string;
  readonly mechanism: string;
  /** Z85 public key of a CURVE client. */
  readonly publicKey: string | undefined;
}

export type ZapPolicy = (request: ZapRequest) => ZapDecision | Promise<ZapDecision>;

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Binds the context's ZAP endpoint and answers with `policy`. Returns a stop function. */
export async function serveZap(reactor: ZmqReactor, policy: ZapPolicy): Promise<() => Promise<void>> {
  const socket = await reactor.socket(SocketType.ROUTER, (s) => s.bind(ZAP_ENDPOINT), (message) => {
    // ROUTER, not REP: answers may be computed asynchronously and out of order.
    const [peer, empty, version, requestId, domain, address, routingId, mechanism, ...credentials] = message.frames;
    if (!peer || !empty || !requestId || decode(version ?? new Uint8Array()) !== "1.0") return;
    const key = credentials[0];
    const request: ZapRequest = {
      domain: decode(domain ?? new Uint8Array()),
      address: decode(address ?? new Uint8Array()),
      routingId: decode(routingId ?? new Uint8Array()),
      mechanism: decode(mechanism ?? new Uint8Array()),
      publicKey: key && key.length === 32 ? z85Encode(key as Uint8Array<ArrayBuffer>) : undefined,
    };
    const reply = (decision: ZapDecision) =>
      socket.send([
        peer as Uint8Array<ArrayBuffer>,
        new Uint8Array(0),
        text("1.0"),
        requestId as Uint8Array<ArrayBuffer>,
        text(decision.userId !== undefined ? "200" : "400"),
        text(decision.userId !== undefined ? "OK" : "key not allowed"),
        text(decision.userId ?? ""),
        new Uint8Array(0),
      ]);
    Promise.resolve()
      .then(() => policy(request))
      .then(reply, () => reply({ userId: undefined }));
  });
  return () => socket.close();
}

/**
 * The policy of a CurveZMQ server whose clients are the `NAME.key` files in
 * `directory`: a client gets in only with one of those keys, and its User-Id is
 * that file's NAME, the only name its messages may carry. The directory is read
 * at every connection, so adding or removing a key needs no restart.
 */
export function allowKeysIn(directory: string): ZapPolicy {
  return async (request) => {
    if (request.publicKey === undefined) return { userId: undefined };
    const { keys } = await readAllowedKeys(directory);
    return { userId: keys.get(request.publicKey) };
  };
}
