/**
 * Basalt's mailbox wire format. Every message is two ZeroMQ frames (a ROUTER
 * adds the peer's identity in front):
 *
 *   [envelope JSON] [body JSON]
 *
 * The envelope says who sent it (`from`, the sending process's name), which actor
 * it is for (`to`), what it is (`kind`), the sender's journal incarnation
 * (`epoch`), its place in the sender's stream (`seq`, reliable kinds only: a
 * transient kind has none) and the
 * receiver's stream acknowledged so far (`ack`: [epoch, seq]). Decoding never
 * throws: a bad message becomes a {@link DecodeFailure} naming what was wrong, so
 * the endpoint can count it and carry on.
 */

/** Bumped whenever the envelope or a body changes incompatibly. */
// 2: a connection's routing id is its peer's name and a session nonce (`name#nonce`), no longer the bare name.
export const PROTOCOL_VERSION = 2;

/** Largest body accepted, in bytes. Log batches stay far below it. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_ENVELOPE_BYTES = 4096;
/**
 * Largest ZeroMQ frame a mailbox socket takes (ZMQ_MAXMSGSIZE). libzmq reads a
 * frame's declared size first and drops the connection when it is larger, so a
 * peer cannot make this process allocate more. A body just over MAX_BODY_BYTES
 * still arrives, so it is refused with a reason rather than by a silent disconnect.
 */
export const MAX_FRAME_BYTES = MAX_BODY_BYTES + 64 * 1024;
/**
 * How far ahead of its stream a message may claim to be. A sender never has more
 * than its window (1000 by default) in flight, so a jump beyond this is not a
 * lost message but a broken or hostile peer.
 */
export const MAX_SEQUENCE_JUMP = 1_000_000;

/** Link-level kinds: handled by the mailbox itself, never journaled or delivered. */
export const CONTROL_KINDS = ["hello", "welcome", "refuse", "ping", "pong", "ack"] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

export interface Envelope {
  readonly v: number;
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly epoch: string;
  readonly seq?: number;
  /** With `seq`: the oldest message the sender still holds unacknowledged. */
  readonly base?: number;
  readonly ack?: readonly [epoch: string, seq: number];
}

export interface DecodedMessage {
  readonly envelope: Envelope;
  readonly body: unknown;
}

/** Why a message was dropped; each reason has its own counter. */
export type DropReason =
  | "frames"
  | "envelope"
  | "version"
  | "kind"
  | "body"
  | "size"
  | "sender"
  | "actor"
  | "refused";

export interface DecodeFailure {
  readonly reason: DropReason;
  readonly detail: string;
  /** Present when the envelope itself was readable. */
  readonly envelope?: Envelope;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeMessage(envelope: Envelope, body: unknown): [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>] {
  return [encoder.encode(JSON.stringify(envelope)), encoder.encode(JSON.stringify(body ?? null))];
}

/** Encodes a body once, so a message retransmitted many times is serialised once. */
export function encodeBody(body: unknown): string {
  return JSON.stringify(body ?? null);
}

export function encodeWithBody(
  envelope: Envelope,
  bodyJson: string,
): [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>] {
  return [encoder.encode(JSON.stringify(envelope)), encoder.encode(bodyJson)];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
const ROUTING_ID = /^([^#]+)#[0-9a-f]{32}$/;

/**
 * The ZeroMQ routing id a connecting endpoint presents: its name and a random
 * nonce, new for every socket. A listener addresses a peer only through the
 * routing id it last heard that peer on (with CurveZMQ, authenticated by the
 * peer's key), and libzmq hands a routing id over to a new connection only when
 * it presents the same one: without the nonce, any peer could connect under
 * another's name and take its mail. The nonce travels encrypted under CurveZMQ.
 */
export function routingIdFor(name: string): string {
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  return `${name}#${Array.from(nonce, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The name in a routing id made by {@link routingIdFor}, or undefined for any other routing id. */
export function nameInRoutingId(routingId: string): string | undefined {
  const match = ROUTING_ID.exec(routingId);
  return match && NAME.test(match[1]) ? match[1] : undefined;
}
const EPOCH = /^[A-Za-z0-9-]{1,64}$/;
const isSeq = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/**
 * Decodes the two frames of a message; `kinds` are the data kinds this side
 * knows, of which `transient` are the unnumbered ones.
 */
export function decodeMessage(
  frames: readonly Uint8Array[],
  kinds: ReadonlySet<string>,
  transient: ReadonlySet<string> = new Set(),
): DecodedMessage | DecodeFailure {
  if (frames.length !== 2) return { reason: "frames", detail: `expected 2 frames, got ${frames.length}` };
  const [head, tail] = frames;
  if (head.length > MAX_ENVELOPE_BYTES) return { reason: "size", detail: `envelope of ${head.length} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(head));
  } catch {
    return { reason: "envelope", detail: "envelope is not UTF-8 JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { reason: "envelope", detail: "envelope is not a JSON object" };
  }
  const e = raw as Record<string, unknown>;
  if (typeof e.v !== "number") return { reason: "envelope", detail: "envelope has no protocol version v" };
  for (const field of ["from", "to", "kind"] as const) {
    if (typeof e[field] !== "string" || !NAME.test(e[field] as string)) {
      return { reason: "envelope", detail: `envelope field ${field} is missing or not a name` };
    }
  }
  if (typeof e.epoch !== "string" || !EPOCH.test(e.epoch)) {
    return { reason: "envelope", detail: "envelope field epoch is missing or malformed" };
  }
  if (e.seq !== undefined && !isSeq(e.seq)) return { reason: "envelope", detail: "envelope field seq is not a count" };
  if (e.base !== undefined && !(isSeq(e.base) && isSeq(e.seq) && e.base <= e.seq)) {
    return { reason: "envelope", detail: "envelope field base is not a count at most seq" };
  }
  if (
    e.ack !== undefined &&
    !(Array.isArray(e.ack) && e.ack.length === 2 && typeof e.ack[0] === "string" && isSeq(e.ack[1]))
  ) {
    return { reason: "envelope", detail: "envelope field ack is not [epoch, seq]" };
  }
  const envelope: Envelope = {
    v: e.v,
    from: e.from as string,
    to: e.to as string,
    kind: e.kind as string,
    epoch: e.epoch,
    ...(e.seq !== undefined ? { seq: e.seq as number } : {}),
    ...(e.base !== undefined ? { base: e.base as number } : {}),
    ...(e.ack !== undefined ? { ack: e.ack as [string, number] } : {}),
  };
  // The version is checked before anything else a newer peer might have changed.
  if (envelope.v !== PROTOCOL_VERSION && envelope.kind !== "hello" && envelope.kind !== "refuse") {
    return {
      reason: "version",
      detail: `protocol version ${envelope.v}, this side speaks ${PROTOCOL_VERSION}`,
      envelope,
    };
  }
  const control = (CONTROL_KINDS as readonly string[]).includes(envelope.kind);
  if (!control && !kinds.has(envelope.kind)) {
    return { reason: "kind", detail: `unknown kind ${envelope.kind}`, envelope };
  }
  if (!control && !transient.has(envelope.kind) && envelope.seq === undefined) {
    return { reason: "envelope", detail: `${envelope.kind} needs a sequence number`, envelope };
  }
  if (transient.has(envelope.kind) && envelope.seq !== undefined) {
    return { reason: "envelope", detail: `${envelope.kind} is transient: it has no sequence number`, envelope };
  }
  if (tail.length > MAX_BODY_BYTES) return { reason: "size", detail: `body of ${tail.length} bytes`, envelope };
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(tail));
  } catch {
    return { reason: "body", detail: "body is not UTF-8 JSON", envelope };
  }
  return { envelope, body };
}

export function isFailure(result: DecodedMessage | DecodeFailure): result is DecodeFailure {
  return "reason" in result;
}
