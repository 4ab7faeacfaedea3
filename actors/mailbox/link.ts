/**
 * The reliable stream between this process and one peer process, as pure logic
 * (no I/O, no clock of its own): sequence numbers for what we send, the cursor of
 * what we have handled of theirs, and the go-back-N rules for retransmission.
 *
 * Streams are named by the sender's journal epoch. When a peer shows up with a new
 * epoch (its journal was recreated) its stream starts at the `base` it announces:
 * the oldest message it still holds unacknowledged, so nothing it kept is skipped
 * and nothing acknowledged before is expected again.
 */
import type { LinkRecord, OutboxRecord } from "../runtime/journal.ts";

export interface OutboxEntry {
  readonly record: OutboxRecord;
  /** Written to the journal: only then may it leave the process. */
  durable: boolean;
  /** When it was last handed to the transport (ms), or undefined if not yet. */
  sentAt: number | undefined;
  transmissions: number;
}

export type Arrival =
  | { readonly verdict: "deliver" }
  | { readonly verdict: "duplicate" }
  | { readonly verdict: "gap"; readonly expected: number };

export interface LinkTuning {
  /** Most messages in flight (sent, unacknowledged) at once. */
  readonly window: number;
  /** Resend the window when the oldest message has waited this long without progress (ms). */
  readonly retransmitAfterMs: number;
}

export class Link {
  readonly peer: string;
  nextSeq: number;
  peerEpoch: string | null;
  /** Highest seq of the peer's stream handed to our handlers. */
  delivered: number;
  /** Highest seq of the peer's stream whose handling is durable: what we acknowledge. */
  durableDelivered: number;
  /** The acknowledgement last sent to the peer. */
  ackSent = -1;
  readonly outbox: OutboxEntry[] = [];
  /** Last time we heard anything from the peer (ms), for heartbeats. */
  lastHeard = 0;
  #lastProgress = 0;
  /** Messages handed to the transport more than once. */
  retransmissions = 0;

  constructor(record: LinkRecord, private readonly localEpoch: string) {
    this.peer = record.peer;
    this.nextSeq = record.nextSeq;
    this.peerEpoch = record.peerEpoch;
    this.delivered = record.delivered;
    this.durableDelivered = record.delivered;
  }

  static fresh(peer: string, localEpoch: string): Link {
    return new Link({ peer, nextSeq: 1, peerEpoch: null, delivered: 0 }, localEpoch);
  }

  record(): LinkRecord {
    return { peer: this.peer, nextSeq: this.nextSeq, peerEpoch: this.peerEpoch, delivered: this.delivered };
  }

  /** Restores a message that was unacknowledged when the process stopped. */
  restore(record: OutboxRecord): void {
    this.outbox.push({ record, durable: true, sentAt: undefined, transmissions: 0 });
    if (record.seq >= this.nextSeq) this.nextSeq = record.seq + 1;
  }

  /** Numbers a new message; it may be transmitted once {@link OutboxEntry.durable}. */
  enqueue(to: string, kind: string, body: string): OutboxEntry {
    const entry: OutboxEntry = {
      record: { peer: this.peer, seq: this.nextSeq++, to, kind, body },
      durable: false,
      sentAt: undefined,
      transmissions: 0,
    };
    this.outbox.push(entry);
    return entry;
  }

  /** The oldest seq we still hold: the peer's expected start if it forgot us. */
  get base(): number {
    return this.outbox.length > 0 ? this.outbox[0].record.seq : this.nextSeq;
  }

  /**
   * Applies the peer's cumulative acknowledgement; returns the new level if it
   * moved. One beyond what was ever numbered is ignored: taking it would forget
   * messages that were never sent.
   */
  acknowledge(epoch: string, seq: number, now: number): number | undefined {
    if (epoch !== this.localEpoch || seq >= this.nextSeq) return undefined;
    let removed = 0;
    while (removed < this.outbox.length && this.outbox[removed].record.seq <= seq) removed++;
    if (removed === 0) return undefined;
    this.outbox.splice(0, removed);
    this.#lastProgress = now;
    return seq;
  }

  /**
   * Classifies a data message from the peer and, when it is the next one, moves
   * the cursor. A new epoch means a new stream starting at the sender's base.
   */
  arrive(epoch: string, seq: number, base: number | undefined): Arrival & { newEpoch: boolean } {
    let newEpoch = false;
    if (epoch !== this.peerEpoch) {
      newEpoch = this.peerEpoch !== null;
      this.peerEpoch = epoch;
      this.delivered = Math.max(0, (base ?? seq) - 1);
      this.durableDelivered = this.delivered;
      this.ackSent = -1;
    }
    if (seq <= this.delivered) return { verdict: "duplicate", newEpoch };
    if (seq !== this.delivered + 1) return { verdict: "gap", expected: this.delivered + 1, newEpoch };
    this.delivered = seq;
    return { verdict: "deliver", newEpoch };
  }

  /** Makes every unacknowledged message eligible to be sent again at once. */
  rewind(now: number): void {
    for (const entry of this.outbox) entry.sentAt = undefined;
    this.#lastProgress = now;
  }

  /**
   * The messages to hand to the transport now: unsent durable ones inside the
   * window, or the whole window again when the oldest has waited too long.
   */
  due(now: number, tuning: LinkTuning): OutboxEntry[] {
    if (this.outbox.length === 0) return [];
    const oldest = this.outbox[0];
    if (
      oldest.sentAt !== undefined && now - Math.max(oldest.sentAt, this.#lastProgress) >= tuning.retransmitAfterMs
    ) {
      this.rewind(now);
    }
    const out: OutboxEntry[] = [];
    const limit = Math.min(this.outbox.length, tuning.window);
    for (let i = 0; i < limit; i++) {
      const entry = this.outbox[i];
      if (!entry.durable) break;
      if (entry.sentAt !== undefined) continue;
      if (entry.transmissions > 0) this.retransmissions++;
      out.push(entry);
    }
    return out;
  }
}
