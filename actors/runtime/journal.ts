/**
 * What a process must not forget across a crash, written in atomic batches: its
 * actors' snapshots and transitions, and its mailboxes' state (messages not yet
 * acknowledged by the peer, how far each peer's stream was handled). The master
 * keeps it in its database (master/storage/journal.ts), a worker in a local
 * SQLite file (sqlite_journal.ts).
 *
 * A batch lands whole or not at all, and nothing it causes (an acknowledgement, a
 * transmitted message) happens before it has landed.
 */

/** One direction-pair with a peer process: our sending counter and its stream's cursor. */
export interface LinkRecord {
  readonly peer: string;
  /** Sequence number our next message to this peer gets. */
  readonly nextSeq: number;
  /** The peer's journal incarnation whose messages `delivered` counts. */
  readonly peerEpoch: string | null;
  /** Highest sequence number of the peer's stream that was handled. */
  readonly delivered: number;
}

/** A message to a peer that the peer has not acknowledged yet. */
export interface OutboxRecord {
  readonly peer: string;
  readonly seq: number;
  readonly to: string;
  readonly kind: string;
  /** The body, already JSON-encoded. */
  readonly body: string;
}

/** An actor's last persisted snapshot (xstate's `getPersistedSnapshot()`). */
export interface SnapshotRecord {
  readonly kind: string;
  readonly id: string;
  /** How many transitions the actor has taken. */
  readonly sequence: number;
  readonly snapshot: unknown;
}

/** A new snapshot, or the end of an actor whose snapshot is to be forgotten. */
export type SnapshotChange = SnapshotRecord | { readonly kind: string; readonly id: string; readonly removed: true };

export function isRemoval(change: SnapshotChange): change is Extract<SnapshotChange, { removed: true }> {
  return "removed" in change;
}

/** The last change per key, in order of first appearance: what a batch means once applied. */
export function lastPerKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** One transition of one actor, as the inspection stream and the history show it. */
export interface TransitionRecord {
  readonly actorKind: string;
  readonly actorId: string;
  readonly sequence: number;
  readonly eventType: string;
  readonly stateBefore: string | null;
  readonly stateAfter: string;
  /** The event without its type, trimmed to what is worth keeping. */
  readonly payload: unknown;
  readonly at: Date;
}

export interface JournalBatch<Tx> {
  readonly links: LinkRecord[];
  readonly outboxAdd: OutboxRecord[];
  /** Acknowledged messages: drop the peer's entries up to and including `upTo`. */
  readonly outboxAcked: { peer: string; upTo: number }[];
  /** In the order they happened; for one actor the last change wins. */
  readonly snapshots: SnapshotChange[];
  readonly transitions: TransitionRecord[];
  /** Extra writes that must land with this batch, inside its transaction. */
  readonly work: ((tx: Tx) => void | Promise<void>)[];
}

export function emptyBatch<Tx>(): JournalBatch<Tx> {
  return { links: [], outboxAdd: [], outboxAcked: [], snapshots: [], transitions: [], work: [] };
}

export function isEmptyBatch<Tx>(batch: JournalBatch<Tx>): boolean {
  return Object.values(batch).every((part) => (part as unknown[]).length === 0);
}

export interface JournalContents {
  readonly links: LinkRecord[];
  /** Every unacknowledged message, in (peer, seq) order. */
  readonly outbox: OutboxRecord[];
  readonly snapshots: SnapshotRecord[];
}

export interface Journal<Tx> {
  /** This journal's incarnation: made once, when the journal is created. */
  readonly epoch: string;
  load(): Promise<JournalContents>;
  commit(batch: JournalBatch<Tx>): Promise<void>;
  /** The transitions of one actor after `afterSequence`, oldest first. */
  transitions(kind: string, id: string, afterSequence?: number): Promise<TransitionRecord[]>;
  close(): Promise<void>;
}

/** Merges `from` into `into` (used to fold a failed batch back into the next one). */
export function mergeBatch<Tx>(into: JournalBatch<Tx>, from: JournalBatch<Tx>): void {
  for (const key of Object.keys(from) as (keyof JournalBatch<Tx>)[]) {
    (into[key] as unknown[]).unshift(...(from[key] as unknown[]));
  }
}
