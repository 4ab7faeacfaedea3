/**
 * A process's mailbox endpoint: the reliable, ordered, exactly-once-handled
 * message streams between this process and its peers, over ZeroMQ.
 *
 * - `listen` (the master) binds a ROUTER and serves many peers; `connect` (a
 *   worker) connects a DEALER to one peer and fails over between the endpoints it
 *   is given. A dispatch process has no mailbox: its worker follows its log file
 *   and reads its result.
 * - Every data message is numbered per link, written to the journal's outbox
 *   before it leaves, and retransmitted until the peer acknowledges it. The peer
 *   hands each message to its handler once and in order, and acknowledges it only
 *   after the handling (and anything the handler staged) is durable.
 * - `hello`/`welcome` open a session and carry each side's summary, so the two
 *   sides can reconcile what was in flight; `ping`/`pong` keep it alive, and a peer
 *   silent for `missedHeartbeats` intervals is offline. A peer speaking another
 *   protocol version is refused, with the reason, on both sides.
 * - Transient kinds (the protocol names them) are the exception: sent at once to
 *   a peer whose session is open, unnumbered, never journaled nor resent, handed
 *   to `onTransient`; for live streams whose record is kept by other means.
 * - Anything malformed is counted by reason, logged (rate-limited) and dropped.
 *
 * Who a listener trusts: a peer's name is what its routing id and envelope say,
 * and nothing more. With CurveZMQ the name must also be the one its key was
 * allowed under (the ZAP "User-Id"), on every message; the listener sends a
 * peer's mail only to the connection it last heard that peer on, so a key can
 * neither speak for another name nor receive its mail. Without CurveZMQ (loopback
 * only) any local process can claim any name: it is trusted as a local user is.
 */
import type { Committer } from "../runtime/committer.ts";
import type { JournalContents } from "../runtime/journal.ts";
import { type Logger, RateLimitedLog } from "../runtime/log.ts";
import type { CurveKeyPair } from "../transport/zmq/curve.ts";
import { Option, SocketType } from "../transport/zmq/ffi.ts";
import type { ReactorSocket, ZmqReactor } from "../transport/zmq/reactor.ts";
import type { ReceivedMessage } from "../transport/zmq/socket.ts";
import { serveZap, type ZapPolicy } from "../transport/zmq/zap.ts";
import {
  type ControlKind,
  type DecodeFailure,
  decodeMessage,
  type DropReason,
  encodeBody,
  encodeWithBody,
  type Envelope,
  isFailure,
  MAX_BODY_BYTES,
  MAX_FRAME_BYTES,
  MAX_SEQUENCE_JUMP,
  nameInRoutingId,
  PROTOCOL_VERSION,
  routingIdFor,
} from "./envelope.ts";
import { Link } from "./link.ts";
import { type BodyOf, isProblem, type Parsers, type Protocol } from "./protocol.ts";

export interface CurveServerOptions {
  readonly keyPair: CurveKeyPair;
  /** Decides which client keys get in, and under which name. */
  readonly authorize: ZapPolicy;
}

export interface CurveClientOptions {
  readonly keyPair: CurveKeyPair;
  readonly serverPublicKey: string;
}

export interface ListenMode {
  readonly kind: "listen";
  /** e.g. `tcp://127.0.0.1:5556`, `tcp://*:5556` (needs curve), `ipc:///run/basalt/w1.ipc`. */
  readonly endpoint: string;
  readonly curve?: CurveServerOptions;
  /** Allows a plain-text bind beyond loopback; off by default. */
  readonly allowRemotePlaintext?: boolean;
}

export interface ConnectMode {
  readonly kind: "connect";
  /** Tried in turn: a silent peer makes the endpoint fail over to the next. */
  readonly endpoints: readonly string[];
  /** The name of the process at the other end, e.g. "master". */
  readonly peer: string;
  readonly curve?: CurveClientOptions;
}

/** A message handed to this process, typed by its kind. */
export type Delivery<P extends Parsers> = {
  [K in keyof P & string]: {
    readonly peer: string;
    readonly to: string;
    readonly kind: K;
    readonly body: BodyOf<P, K>;
  };
}[keyof P & string];

export interface DeliveryScope<Tx> {
  /** Adds a write that lands in the same journal batch as this message's handling. */
  journal(work: (tx: Tx) => void | Promise<void>): void;
}

export type PeerEvent =
  | { readonly type: "online"; readonly peer: string; readonly summary: unknown }
  | { readonly type: "offline"; readonly peer: string; readonly silentMs: number }
  | { readonly type: "refused"; readonly peer: string; readonly reason: string }
  | { readonly type: "new-epoch"; readonly peer: string };

export interface EndpointOptions<P extends Parsers, Tx> {
  /** This process's name on the wire (the worker's hostname, "master"). */
  readonly name: string;
  readonly epoch: string;
  readonly protocol: Protocol<P>;
  readonly reactor: ZmqReactor;
  readonly committer: Committer<Tx>;
  readonly contents: JournalContents;
  readonly mode: ListenMode | ConnectMode;
  readonly logger: Logger;
  readonly onMessage: (delivery: Delivery<P>, scope: DeliveryScope<Tx>) => void;
  readonly onPeer?: (event: PeerEvent) => void;
  /** Receives the protocol's transient kinds, outside any journal batch; they are dropped without it. */
  readonly onTransient?: (delivery: Delivery<P>) => void;
  /** What this side tells a peer when a session opens (running jobs, cancelled jobs...). */
  readonly summary?: (peer: string) => unknown;
  /** Whether an actor address exists here; others are dropped as "actor". */
  readonly accepts?: (to: string) => boolean;
  /**
   * Asked by a listener at every `hello`: why it will not open a session with
   * `peer` (the reason is sent back to it), or undefined to open one.
   * `authenticated` is true when CurveZMQ proved the peer holds the key that
   * name was allowed under.
   */
  readonly sessionRefusal?: (peer: string, authenticated: boolean) => string | undefined;
  readonly heartbeatMs?: number;
  readonly missedHeartbeats?: number;
  readonly window?: number;
  readonly retransmitAfterMs?: number;
}

export interface EndpointStats {
  readonly delivered: number;
  readonly transientSent: number;
  readonly transientDelivered: number;
  readonly duplicates: number;
  readonly gaps: number;
  readonly retransmissions: number;
  readonly transportDrops: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
}

export interface PeerStatus {
  readonly peer: string;
  readonly online: boolean;
  readonly unacknowledged: number;
  readonly delivered: number;
}

const CONNECT_PEER_STATES = ["connecting", "online", "refused"] as const;
type ConnectState = (typeof CONNECT_PEER_STATES)[number];

const LOCAL_ENDPOINT = /^(ipc|inproc):\/\/|^tcp:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):/;

/** Thrown by {@link MailboxEndpoint.send} for a body the peer would refuse: nothing is queued. */
export class MessageTooLargeError extends Error {
  constructor(readonly kind: string, readonly bytes: number) {
    super(`a ${kind} message of ${bytes} bytes is larger than a mailbox carries (${MAX_BODY_BYTES} bytes)`);
    this.name = "MessageTooLargeError";
  }
}

/** Thrown when an endpoint would expose an unencrypted mailbox to the network. */
export class PlaintextBindError extends Error {
  constructor(endpoint: string) {
    super(
      `refusing to listen on ${endpoint} without encryption: only loopback is allowed in plain text. ` +
        `Use --encrypt with certificates, or bind to 127.0.0.1.`,
    );
    this.name = "PlaintextBindError";
  }
}

const routingText = new TextDecoder();

export class MailboxEndpoint<P extends Parsers, Tx> {
  readonly #o: EndpointOptions<P, Tx>;
  readonly #links = new Map<string, Link>();
  /** Listening: each peer's routing id, as last heard from that peer; only its mail goes there. */
  readonly #routes = new Map<string, Uint8Array<ArrayBuffer>>();
  readonly #online = new Set<string>();
  readonly #dirty = new Set<Link>();
  readonly #pumpQueued = new Set<Link>();
  #socket!: ReactorSocket;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopZap: (() => Promise<void>) | undefined;
  #log: RateLimitedLog;
  #connectState: ConnectState = "connecting";
  #connectIndex = 0;
  #connectedTo = "";
  #sessionStarted = 0;
  #lastPing = 0;
  #closed = false;
  /** The address a listening endpoint really bound (the port when it asked for `*`). */
  boundEndpoint = "";
  readonly #stats = {
    delivered: 0,
    transientSent: 0,
    transientDelivered: 0,
    duplicates: 0,
    gaps: 0,
    dropped: {
      frames: 0,
      envelope: 0,
      version: 0,
      kind: 0,
      body: 0,
      size: 0,
      sender: 0,
      actor: 0,
      refused: 0,
    } as Record<
      DropReason,
      number
    >,
  };

  private constructor(options: EndpointOptions<P, Tx>) {
    this.#o = options;
    this.#log = new RateLimitedLog(options.logger);
    for (const record of options.contents.links) this.#links.set(record.peer, new Link(record, options.epoch));
    for (const record of options.contents.outbox) this.#link(record.peer).restore(record);
    options.committer.collect((batch) => {
      for (const link of this.#dirty) batch.links.push(link.record());
      this.#dirty.clear();
    });
  }

  static async open<P extends Parsers, Tx>(options: EndpointOptions<P, Tx>): Promise<MailboxEndpoint<P, Tx>> {
    const endpoint = new MailboxEndpoint(options);
    await endpoint.#start();
    return endpoint;
  }

  get #heartbeatMs(): number {
    return this.#o.heartbeatMs ?? 1000;
  }

  get #silenceLimitMs(): number {
    return this.#heartbeatMs * (this.#o.missedHeartbeats ?? 3);
  }

  async #start(): Promise<void> {
    const mode = this.#o.mode;
    if (mode.kind === "listen") {
      if (!mode.curve && !mode.allowRemotePlaintext && !LOCAL_ENDPOINT.test(mode.endpoint)) {
        throw new PlaintextBindError(mode.endpoint);
      }
      if (mode.curve) this.#stopZap = await serveZap(this.#o.reactor, mode.curve.authorize);
      this.#socket = await this.#o.reactor.socket(SocketType.ROUTER, (s) => {
        s.setInt(Option.ROUTER_MANDATORY, 1);
        // A reconnecting peer takes its routing id back from a connection not yet seen dead. Only
        // the socket that made the id can present it again (see routingIdFor), so no other peer can.
        s.setInt(Option.ROUTER_HANDOVER, 1);
        this.#commonOptions(s);
        if (mode.curve) {
          s.setInt(Option.CURVE_SERVER, 1);
          s.setString(Option.CURVE_SECRETKEY, mode.curve.keyPair.secretKey);
          s.setString(Option.ZAP_DOMAIN, "basalt");
        }
        this.boundEndpoint = s.bind(mode.endpoint);
      }, (m) => this.#onFrames(m));
    } else {
      if (mode.endpoints.length === 0) throw new Error("a connecting mailbox needs at least one endpoint");
      this.#link(mode.peer);
      this.#connectedTo = mode.endpoints[0];
      this.#socket = await this.#o.reactor.socket(SocketType.DEALER, (s) => {
        s.setString(Option.ROUTING_ID, routingIdFor(this.#o.name));
        s.setInt(Option.IMMEDIATE, 1);
        this.#commonOptions(s);
        if (mode.curve) {
          s.setString(Option.CURVE_SERVERKEY, mode.curve.serverPublicKey);
          s.setString(Option.CURVE_PUBLICKEY, mode.curve.keyPair.publicKey);
          s.setString(Option.CURVE_SECRETKEY, mode.curve.keyPair.secretKey);
        }
        s.connect(this.#connectedTo);
      }, (m) => this.#onFrames(m));
      this.#sessionStarted = Date.now();
      this.#sendHello();
    }
    const tickMs = Math.max(10, Math.min(this.#heartbeatMs, this.#o.retransmitAfterMs ?? 1000) / 4);
    this.#timer = setInterval(() => this.#tick(), tickMs);
  }

  #commonOptions(s: Parameters<Parameters<ZmqReactor["socket"]>[1]>[0]): void {
    s.setInt(Option.SNDHWM, 100_000);
    s.setInt(Option.RCVHWM, 100_000);
    s.setInt(Option.RECONNECT_IVL, 100);
    s.setInt(Option.RECONNECT_IVL_MAX, 1000);
    s.setInt64(Option.MAXMSGSIZE, MAX_FRAME_BYTES);
  }

  /**
   * Sends `body` to actor `to` in process `peer`. The message is durable in the
   * journal before it is transmitted, and retransmitted until acknowledged.
   * Returns its sequence number. A body larger than the peer accepts throws
   * {@link MessageTooLargeError}: sent, it would be refused and resent forever.
   */
  send<K extends keyof P & string>(peer: string, to: string, kind: K, body: BodyOf<P, K>): number {
    if (this.#closed) throw new Error("the mailbox is closed");
    const json = encodeBody(body);
    // At most 3 UTF-8 bytes per UTF-16 unit: most bodies need no counting.
    if (json.length * 3 > MAX_BODY_BYTES) {
      const bytes = utf8Length(json);
      if (bytes > MAX_BODY_BYTES) throw new MessageTooLargeError(kind, bytes);
    }
    const link = this.#link(peer);
    const entry = link.enqueue(to, kind, json);
    this.#dirty.add(link);
    this.#o.committer.stage((batch) => batch.outboxAdd.push(entry.record), () => {
      entry.durable = true;
      this.#pumpSoon(link);
    });
    return entry.record.seq;
  }

  /**
   * Sends a transient kind now if `peer`'s session is open; false when it is not
   * (nothing is kept to send later). Bodies are bounded as {@link send}'s are.
   */
  sendTransient<K extends keyof P & string>(peer: string, to: string, kind: K, body: BodyOf<P, K>): boolean {
    if (this.#closed) return false;
    if (!this.#o.protocol.transient.has(kind)) throw new Error(`${kind} is not a transient kind`);
    const json = encodeBody(body);
    if (json.length * 3 > MAX_BODY_BYTES) {
      const bytes = utf8Length(json);
      if (bytes > MAX_BODY_BYTES) throw new MessageTooLargeError(kind, bytes);
    }
    const link = this.#links.get(peer);
    if (!link || !this.#online.has(peer)) return false;
    if (this.#o.mode.kind === "listen" ? !this.#routes.has(peer) : this.#connectState !== "online") return false;
    const envelope: Envelope = { v: PROTOCOL_VERSION, from: this.#o.name, to, kind, epoch: this.#o.epoch };
    this.#socket.send(
      this.#o.mode.kind === "listen"
        ? [this.#routes.get(peer)!, ...encodeWithBody(envelope, json)]
        : encodeWithBody(envelope, json),
    );
    this.#stats.transientSent++;
    return true;
  }

  peers(): PeerStatus[] {
    return [...this.#links.values()].map((l) => ({
      peer: l.peer,
      online: this.#online.has(l.peer),
      unacknowledged: l.outbox.length,
      delivered: l.delivered,
    }));
  }

  isOnline(peer: string): boolean {
    return this.#online.has(peer);
  }

  stats(): EndpointStats {
    let retransmissions = 0;
    for (const link of this.#links.values()) retransmissions += link.retransmissions;
    return {
      ...this.#stats,
      dropped: { ...this.#stats.dropped },
      retransmissions,
      transportDrops: this.#socket.dropped,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#socket.close();
    await this.#stopZap?.();
  }

  #link(peer: string): Link {
    let link = this.#links.get(peer);
    if (!link) {
      link = Link.fresh(peer, this.#o.epoch);
      this.#links.set(peer, link);
      this.#dirty.add(link);
    }
    return link;
  }

  // --- receiving -----------------------------------------------------------

  #onFrames(message: ReceivedMessage): void {
    if (this.#closed) return;
    const listening = this.#o.mode.kind === "listen";
    let frames = message.frames;
    let route: Uint8Array<ArrayBuffer> | undefined;
    if (listening) {
      if (frames.length < 1) return this.#drop("frames", "empty message");
      route = frames[0] as Uint8Array<ArrayBuffer>;
      frames = frames.slice(1);
    }
    const decoded = decodeMessage(frames, this.#o.protocol.kinds, this.#o.protocol.transient);
    const envelope = decoded.envelope;
    if (!envelope) return this.#drop((decoded as DecodeFailure).reason, (decoded as DecodeFailure).detail);
    // A peer of another version is told so before anything else is checked: what else it sends may be shaped
    // differently (a version 1 worker's routing id is its bare name), and the refusal carries nothing private.
    if (envelope.kind === "hello" && envelope.v !== PROTOCOL_VERSION) return this.#onVersionMismatch(envelope, route);
    const wrongSender = listening
      ? this.#wrongSender(route!, envelope.from, message.userId)
      : envelope.from !== (this.#o.mode as ConnectMode).peer
      ? `expected ${(this.#o.mode as ConnectMode).peer}, got ${envelope.from}`
      : undefined;
    if (wrongSender) return this.#drop("sender", wrongSender, envelope.from);
    if (
      (isFailure(decoded) && decoded.reason === "version") ||
      (envelope.kind === "hello" && envelope.v !== PROTOCOL_VERSION)
    ) {
      return this.#onVersionMismatch(envelope, route);
    }
    if (listening && !this.#admitted(envelope, route!)) return;
    if (isFailure(decoded)) {
      // A numbered message that can never be delivered is still consumed: left
      // unacknowledged, it would be resent forever and hold back all that follows.
      const link = this.#links.get(envelope.from);
      if (!link || envelope.seq === undefined || isControl(envelope.kind)) {
        return this.#drop(decoded.reason, decoded.detail, envelope.from);
      }
      if (route) this.#routes.set(link.peer, route);
      return this.#onData(link, envelope, undefined, decoded);
    }
    const link = this.#link(envelope.from);
    if (route) this.#routes.set(link.peer, route);
    link.lastHeard = Date.now();
    if (envelope.ack) this.#onAck(link, envelope.ack);
    if (envelope.seq !== undefined && !isControl(envelope.kind)) return this.#onData(link, envelope, decoded.body);
    if (this.#o.protocol.transient.has(envelope.kind)) return this.#onTransient(link, envelope, decoded.body);
    this.#onControl(link, envelope.kind as ControlKind, decoded.body);
  }

  /** Why a listener will not take a message signed `from` from this connection, or undefined. */
  #wrongSender(route: Uint8Array, from: string, userId: string | undefined): string | undefined {
    // Routing ids are not logged: under CurveZMQ their nonce is what keeps a connection a peer's own.
    const owner = nameInRoutingId(routingText.decode(route));
    if (owner === undefined) return `a connection without a session routing id sent a message signed ${from}`;
    if (owner !== from) return `${owner}'s connection sent a message signed ${from}`;
    if ((this.#o.mode as ListenMode).curve && userId !== from) {
      return `the key allowed as ${userId ?? "nobody"} sent a message signed ${from}`;
    }
    return undefined;
  }

  /** A new peer must say hello first, and each hello may be refused; a refused peer gets the reason. */
  #admitted(envelope: Envelope, route: Uint8Array<ArrayBuffer>): boolean {
    const peer = envelope.from;
    if (envelope.kind !== "hello") {
      if (this.#links.has(peer)) return true;
      this.#drop("sender", `${peer} sent ${envelope.kind} before hello`, peer);
      return false;
    }
    const reason = this.#o.sessionRefusal?.(peer, (this.#o.mode as ListenMode).curve !== undefined);
    if (reason === undefined) return true;
    this.#stats.dropped.refused++;
    this.#log.warning(this.#logKey("refused", peer), "refused a session", { peer, reason });
    this.#socket.send([route, ...encodeWithBody(this.#controlEnvelope("refuse", peer), JSON.stringify({ reason }))]);
    this.#o.onPeer?.({ type: "refused", peer, reason });
    return false;
  }

  #onAck(link: Link, [epoch, seq]: readonly [string, number]): void {
    if (epoch === this.#o.epoch && seq >= link.nextSeq) {
      // Taking it would forget messages that were never sent; the rest of the message still counts.
      this.#log.warning(this.#logKey("ack", link.peer), "ignored an acknowledgement of messages never sent", {
        peer: link.peer,
        acknowledged: seq,
        sent: link.nextSeq - 1,
      });
      return;
    }
    const level = link.acknowledge(epoch, seq, Date.now());
    if (level === undefined) return;
    // Forgetting acknowledged messages can wait for the next batch: if it is lost, they
    // are sent again after a restart and the peer drops them as duplicates.
    this.#o.committer.stageLazily((batch) => batch.outboxAcked.push({ peer: link.peer, upTo: level }));
    this.#pumpSoon(link);
  }

  /** A numbered message; one that cannot be delivered (`undeliverable`) takes its place in the stream and is dropped. */
  #onData(link: Link, envelope: Envelope, body: unknown, undeliverable?: DecodeFailure): void {
    if (envelope.epoch === link.peerEpoch && envelope.seq! > link.delivered + MAX_SEQUENCE_JUMP) {
      const detail = `seq ${envelope.seq} is far beyond the next expected, ${link.delivered + 1}`;
      return this.#drop("envelope", detail, link.peer);
    }
    const arrival = link.arrive(envelope.epoch, envelope.seq!, envelope.base);
    if (arrival.newEpoch) {
      this.#o.logger.warning("peer started a new stream (its journal was recreated)", { peer: link.peer });
      this.#o.onPeer?.({ type: "new-epoch", peer: link.peer });
    }
    if (arrival.verdict === "duplicate") {
      this.#stats.duplicates++;
      // Our acknowledgement may have been lost: repeat it.
      if (link.durableDelivered >= envelope.seq!) this.#sendControl(link, "ack", {});
      return;
    }
    if (arrival.verdict === "gap") {
      this.#stats.gaps++;
      return;
    }
    this.#dirty.add(link);
    const seq = envelope.seq!;
    const scope: DeliveryScope<Tx> = {
      journal: (work) => this.#o.committer.stage((batch) => batch.work.push(work)),
    };
    if (undeliverable) this.#drop(undeliverable.reason, `seq ${seq}: ${undeliverable.detail}`, link.peer);
    else this.#deliver(link, envelope, body, scope);
    this.#o.committer.stage(() => {}, () => {
      if (seq > link.durableDelivered) link.durableDelivered = seq;
      this.#pumpSoon(link);
    });
  }

  #deliver(link: Link, envelope: Envelope, body: unknown, scope: DeliveryScope<Tx>): void {
    const parsed = this.#o.protocol.parsers[envelope.kind](body);
    if (isProblem(parsed)) return this.#drop("body", `${envelope.kind}: ${parsed.problem}`, link.peer);
    if (this.#o.accepts && !this.#o.accepts(envelope.to)) {
      return this.#drop("actor", `no actor ${envelope.to} for ${envelope.kind}`, link.peer);
    }
    this.#stats.delivered++;
    try {
      this.#o.onMessage({ peer: link.peer, to: envelope.to, kind: envelope.kind, body: parsed } as Delivery<P>, scope);
    } catch (error) {
      // A handler bug must not stop the stream; the supervisor sees actor errors itself.
      this.#o.logger.error("message handler failed", { peer: link.peer, kind: envelope.kind, error });
    }
  }

  /** A transient message: handed on only within an open session, and only to a process that takes them. */
  #onTransient(link: Link, envelope: Envelope, body: unknown): void {
    if (!this.#online.has(link.peer)) return this.#drop("sender", `${envelope.kind} outside a session`, link.peer);
    const handler = this.#o.onTransient;
    if (!handler) return this.#drop("kind", `${envelope.kind}: this process takes no transient messages`, link.peer);
    const parsed = this.#o.protocol.parsers[envelope.kind](body);
    if (isProblem(parsed)) return this.#drop("body", `${envelope.kind}: ${parsed.problem}`, link.peer);
    if (this.#o.accepts && !this.#o.accepts(envelope.to)) {
      return this.#drop("actor", `no actor ${envelope.to} for ${envelope.kind}`, link.peer);
    }
    this.#stats.transientDelivered++;
    try {
      handler({ peer: link.peer, to: envelope.to, kind: envelope.kind, body: parsed } as Delivery<P>);
    } catch (error) {
      this.#o.logger.error("transient message handler failed", { peer: link.peer, kind: envelope.kind, error });
    }
  }

  #onControl(link: Link, kind: ControlKind, body: unknown): void {
    const listening = this.#o.mode.kind === "listen";
    switch (kind) {
      case "hello":
        if (!listening) return this.#drop("kind", "hello sent to a connecting endpoint", link.peer);
        this.#sendControl(link, "welcome", { summary: this.#o.summary?.(link.peer) ?? null });
        this.#goOnline(link, summaryOf(body));
        return;
      case "welcome":
        if (listening) return this.#drop("kind", "welcome sent to a listening endpoint", link.peer);
        this.#connectState = "online";
        this.#goOnline(link, summaryOf(body));
        return;
      case "ping":
        this.#sendControl(link, "pong", this.#online.has(link.peer) ? {} : { hello: true });
        return;
      case "pong":
        if (!listening && typeof body === "object" && body !== null && (body as { hello?: unknown }).hello === true) {
          // The listener lost our session (it restarted): open a new one.
          this.#sendHello();
        }
        return;
      case "refuse":
        return this.#onRefused(
          link.peer,
          typeof (body as { reason?: unknown })?.reason === "string"
            ? (body as { reason: string }).reason
            : "refused without a reason",
        );
      case "ack":
        return;
    }
  }

  #goOnline(link: Link, summary: unknown): void {
    const wasOnline = this.#online.has(link.peer);
    this.#online.add(link.peer);
    // Whatever was in flight when the session broke is sent again from its start.
    link.rewind(Date.now());
    this.#pumpSoon(link);
    if (!wasOnline || summary !== undefined) {
      this.#o.logger.info("peer online", { peer: link.peer });
      this.#o.onPeer?.({ type: "online", peer: link.peer, summary });
    }
  }

  #onVersionMismatch(envelope: Envelope, route: Uint8Array<ArrayBuffer> | undefined): void {
    const reason =
      `protocol version mismatch: ${envelope.from} speaks ${envelope.v}, ${this.#o.name} speaks ${PROTOCOL_VERSION}`;
    this.#stats.dropped.version++;
    this.#log.warning(this.#logKey("version", envelope.from), reason, { peer: envelope.from });
    if (route) {
      this.#socket.send([
        route,
        ...encodeWithBody(this.#controlEnvelope("refuse", envelope.to), JSON.stringify({ reason })),
      ]);
      this.#o.onPeer?.({ type: "refused", peer: envelope.from, reason });
    } else if (this.#o.mode.kind === "connect") {
      this.#onRefused(envelope.from, reason);
    }
  }

  #onRefused(peer: string, reason: string): void {
    if (this.#o.mode.kind !== "connect") return;
    this.#connectState = "refused";
    this.#online.delete(peer);
    this.#o.logger.error("refused by peer", { peer, reason });
    this.#o.onPeer?.({ type: "refused", peer, reason });
  }

  #drop(reason: DropReason, detail: string, peer?: string): void {
    this.#stats.dropped[reason]++;
    this.#log.warning(this.#logKey(reason, peer), "dropped a message", { reason, detail, peer });
  }

  /** Rate-limit keys name only peers with a link, so names a peer makes up cannot grow the limiter. */
  #logKey(kind: string, peer: string | undefined): string {
    return `${kind}:${peer !== undefined && this.#links.has(peer) ? peer : "?"}`;
  }

  // --- sending -------------------------------------------------------------

  #controlEnvelope(kind: ControlKind, to: string, link?: Link): Envelope {
    const ack = link?.peerEpoch ? { ack: [link.peerEpoch, link.durableDelivered] as const } : {};
    return { v: PROTOCOL_VERSION, from: this.#o.name, to, kind, epoch: this.#o.epoch, ...ack };
  }

  #transmit(link: Link, frames: [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]): void {
    if (this.#o.mode.kind === "listen") {
      const route = this.#routes.get(link.peer);
      if (!route) return;
      this.#socket.send([route, ...frames]);
    } else {
      this.#socket.send(frames);
    }
    link.ackSent = link.durableDelivered;
  }

  #sendControl(link: Link, kind: ControlKind, body: unknown): void {
    this.#transmit(link, encodeWithBody(this.#controlEnvelope(kind, link.peer, link), JSON.stringify(body)));
  }

  #sendHello(): void {
    const mode = this.#o.mode as ConnectMode;
    const link = this.#link(mode.peer);
    this.#transmit(
      link,
      encodeWithBody(
        this.#controlEnvelope("hello", mode.peer, link),
        JSON.stringify({ summary: this.#o.summary?.(mode.peer) ?? null }),
      ),
    );
  }

  #pumpSoon(link: Link): void {
    if (this.#pumpQueued.has(link)) return;
    this.#pumpQueued.add(link);
    queueMicrotask(() => {
      this.#pumpQueued.delete(link);
      this.#pump(link);
    });
  }

  #pump(link: Link): void {
    if (this.#closed) return;
    const now = Date.now();
    const canSend = this.#o.mode.kind === "listen" ? this.#routes.has(link.peer) : this.#connectState === "online";
    if (canSend) {
      const tuning = { window: this.#o.window ?? 1000, retransmitAfterMs: this.#o.retransmitAfterMs ?? 1000 };
      for (const entry of link.due(now, tuning)) {
        const r = entry.record;
        const envelope: Envelope = {
          v: PROTOCOL_VERSION,
          from: this.#o.name,
          to: r.to,
          kind: r.kind,
          epoch: this.#o.epoch,
          seq: r.seq,
          base: link.base,
          ...(link.peerEpoch ? { ack: [link.peerEpoch, link.durableDelivered] as const } : {}),
        };
        this.#transmit(link, encodeWithBody(envelope, r.body));
        entry.sentAt = now;
        entry.transmissions++;
      }
    }
    if (link.peerEpoch && link.durableDelivered > link.ackSent) this.#sendControl(link, "ack", {});
  }

  // --- time ----------------------------------------------------------------

  #tick(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#o.mode.kind === "listen") {
      for (const peer of [...this.#online]) {
        const link = this.#links.get(peer)!;
        if (now - link.lastHeard > this.#silenceLimitMs) {
          this.#online.delete(peer);
          this.#o.logger.warning("peer offline", { peer, silentMs: now - link.lastHeard });
          this.#o.onPeer?.({ type: "offline", peer, silentMs: now - link.lastHeard });
        }
      }
    } else {
      this.#connectTick(now);
    }
    for (const link of this.#links.values()) if (link.outbox.length > 0) this.#pump(link);
  }

  #connectTick(now: number): void {
    const mode = this.#o.mode as ConnectMode;
    if (this.#connectState === "refused") return;
    const link = this.#link(mode.peer);
    const heard = Math.max(link.lastHeard, this.#sessionStarted);
    if (now - heard > this.#silenceLimitMs) {
      if (this.#connectState === "online") {
        this.#online.delete(mode.peer);
        this.#o.logger.warning("peer offline", { peer: mode.peer, endpoint: this.#connectedTo, silentMs: now - heard });
        this.#o.onPeer?.({ type: "offline", peer: mode.peer, silentMs: now - heard });
      }
      this.#connectState = "connecting";
      if (mode.endpoints.length > 1) this.#failOver(mode);
      this.#sessionStarted = now;
    }
    if (now - this.#lastPing >= this.#heartbeatMs) {
      this.#lastPing = now;
      if (this.#connectState === "online") this.#sendControl(link, "ping", {});
      else this.#sendHello();
    }
  }

  #failOver(mode: ConnectMode): void {
    const previous = this.#connectedTo;
    this.#connectIndex = (this.#connectIndex + 1) % mode.endpoints.length;
    this.#connectedTo = mode.endpoints[this.#connectIndex];
    this.#o.logger.warning("failing over", { from: previous, to: this.#connectedTo });
    this.#socket.configure((s) => {
      s.disconnect(previous);
      s.connect(this.#connectedTo);
    }).catch((error) => this.#o.logger.error("fail-over failed", { error }));
  }
}

/** UTF-8 length of a string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

function isControl(kind: string): boolean {
  return kind === "hello" || kind === "welcome" || kind === "refuse" || kind === "ping" || kind === "pong" ||
    kind === "ack";
}

function summaryOf(body: unknown): unknown {
  return typeof body === "object" && body !== null && "summary" in body ? (body as { summary: unknown }).summary : null;
}
