/**
 * A process's mailbox endpoint: the reliable, ordered, exactly-once-handled
 * message streams between this process and its peers, over ZeroMQ.
 *
 * - `listen` (the master, or a worker for its dispatch processes) binds a ROUTER
 *   and serves many peers; `connect` (a worker, a dispatch process) connects a
 *   DEALER to one peer and fails over between the endpoints it is given.
 * - Every data message is numbered per link, written to the journal's outbox
 *   before it leaves, and retransmitted until the peer acknowledges it. The peer
 *   hands each message to its handler once and in order, and acknowledges it only
 *   after the handling (and anything the handler staged) is durable.
 * - `hello`/`welcome` open a session and carry each side's summary, so the two
 *   sides can reconcile what was in flight; `ping`/`pong` keep it alive, and a peer
 *   silent for `missedHeartbeats` intervals is offline. A peer speaking another
 *   protocol version is refused, with the reason, on both sides.
 * - Anything malformed is counted by reason, logged (rate-limited) and dropped.
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
  decodeMessage,
  type DropReason,
  encodeBody,
  encodeWithBody,
  type Envelope,
  isFailure,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
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
  /** What this side tells a peer when a session opens (running jobs, cancelled jobs...). */
  readonly summary?: (peer: string) => unknown;
  /** Whether an actor address exists here; others are dropped as "actor". */
  readonly accepts?: (to: string) => boolean;
  readonly heartbeatMs?: number;
  readonly missedHeartbeats?: number;
  readonly window?: number;
  readonly retransmitAfterMs?: number;
}

export interface EndpointStats {
  readonly delivered: number;
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

const text = new TextEncoder();

export class MailboxEndpoint<P extends Parsers, Tx> {
  readonly #o: EndpointOptions<P, Tx>;
  readonly #links = new Map<string, Link>();
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
        s.setString(Option.ROUTING_ID, this.#o.name);
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
    // Frames beyond this make libzmq drop the connection before we ever see them.
    s.setInt64(Option.MAXMSGSIZE, MAX_BODY_BYTES + 64 * 1024);
  }

  /**
   * Sends `body` to actor `to` in process `peer`. The message is durable in the
   * journal before it is transmitted, and retransmitted until acknowledged.
   * Returns its sequence number.
   */
  send<K extends keyof P & string>(peer: string, to: string, kind: K, body: BodyOf<P, K>): number {
    if (this.#closed) throw new Error("the mailbox is closed");
    const link = this.#link(peer);
    const entry = link.enqueue(to, kind, encodeBody(body));
    this.#dirty.add(link);
    this.#o.committer.stage((batch) => batch.outboxAdd.push(entry.record), () => {
      entry.durable = true;
      this.#pumpSoon(link);
    });
    return entry.record.seq;
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
    let routingId: string | undefined;
    if (listening) {
      if (frames.length < 1) return this.#drop("frames", "empty message");
      routingId = new TextDecoder().decode(frames[0]);
      frames = frames.slice(1);
    }
    const decoded = decodeMessage(frames, this.#o.protocol.kinds);
    if (isFailure(decoded)) {
      if (decoded.reason === "version" && decoded.envelope) return this.#onVersionMismatch(decoded.envelope, routingId);
      return this.#drop(decoded.reason, decoded.detail, decoded.envelope?.from ?? routingId);
    }
    const { envelope, body } = decoded;
    if (listening) {
      if (envelope.from !== routingId) {
        return this.#drop("sender", `routing id ${routingId} sent a message signed ${envelope.from}`, routingId);
      }
      if ((this.#o.mode as ListenMode).curve && message.userId !== envelope.from) {
        return this.#drop("sender", `key of ${message.userId} used by ${envelope.from}`, envelope.from);
      }
    } else if (envelope.from !== (this.#o.mode as ConnectMode).peer) {
      return this.#drop("sender", `expected ${(this.#o.mode as ConnectMode).peer}, got ${envelope.from}`);
    }
    if (envelope.kind === "hello" && envelope.v !== PROTOCOL_VERSION) {
      return this.#onVersionMismatch(envelope, routingId);
    }

    const link = this.#link(envelope.from);
    link.lastHeard = Date.now();
    if (envelope.ack) this.#onAck(link, envelope.ack);
    if (envelope.seq !== undefined && !isControl(envelope.kind)) return this.#onData(link, envelope, body);
    this.#onControl(link, envelope.kind as ControlKind, body);
  }

  #onAck(link: Link, [epoch, seq]: readonly [string, number]): void {
    const level = link.acknowledge(epoch, seq, Date.now());
    if (level === undefined) return;
    // Forgetting acknowledged messages can wait for the next batch: if it is lost, they
    // are sent again after a restart and the peer drops them as duplicates.
    this.#o.committer.stageLazily((batch) => batch.outboxAcked.push({ peer: link.peer, upTo: level }));
    this.#pumpSoon(link);
  }

  #onData(link: Link, envelope: Envelope, body: unknown): void {
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
    this.#deliver(link, envelope, body, scope);
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

  #onVersionMismatch(envelope: Envelope, routingId: string | undefined): void {
    const reason =
      `protocol version mismatch: ${envelope.from} speaks ${envelope.v}, ${this.#o.name} speaks ${PROTOCOL_VERSION}`;
    this.#stats.dropped.version++;
    this.#log.warning(`version:${envelope.from}`, reason, { peer: envelope.from });
    if (this.#o.mode.kind === "listen" && routingId === envelope.from) {
      this.#socket.send([
        text.encode(routingId),
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
    this.#log.warning(`${reason}:${peer ?? "?"}`, "dropped a message", { reason, detail, peer });
  }

  // --- sending -------------------------------------------------------------

  #controlEnvelope(kind: ControlKind, to: string, link?: Link): Envelope {
    const ack = link?.peerEpoch ? { ack: [link.peerEpoch, link.durableDelivered] as const } : {};
    return { v: PROTOCOL_VERSION, from: this.#o.name, to, kind, epoch: this.#o.epoch, ...ack };
  }

  #transmit(link: Link, frames: [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]): void {
    this.#socket.send(this.#o.mode.kind === "listen" ? [text.encode(link.peer), ...frames] : frames);
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
    const canSend = this.#o.mode.kind === "listen"
      ? this.#online.has(link.peer) || link.lastHeard > 0
      : this.#connectState === "online";
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

function isControl(kind: string): boolean {
  return kind === "hello" || kind === "welcome" || kind === "refuse" || kind === "ping" || kind === "pong" ||
    kind === "ack";
}

function summaryOf(body: unknown): unknown {
  return typeof body === "object" && body !== null && "summary" in body ? (body as { summary: unknown }).summary : null;
}
