/**
 * The local journal of a worker process: one SQLite file (Node's
 * built-in `node:sqlite`, no dependency) in write-ahead-log mode. A committed
 * batch survives the process being killed; with `durability: "power-loss"` it is
 * also fsynced before the commit returns, at a cost of a disk flush per batch.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "../path.ts";
import { type DataDirLock, lockDataDir } from "./dir_lock.ts";
import {
  isRemoval,
  type Journal,
  type JournalBatch,
  type JournalContents,
  type LinkRecord,
  type OutboxRecord,
  type SnapshotRecord,
  type TransitionRecord,
} from "./journal.ts";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS links (
    peer TEXT PRIMARY KEY, next_seq INTEGER NOT NULL, peer_epoch TEXT, delivered INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox (
    peer TEXT NOT NULL, seq INTEGER NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (peer, seq));
  CREATE TABLE IF NOT EXISTS snapshots (
    kind TEXT NOT NULL, id TEXT NOT NULL, sequence INTEGER NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (kind, id));
  CREATE TABLE IF NOT EXISTS transitions (
    kind TEXT NOT NULL, id TEXT NOT NULL, sequence INTEGER NOT NULL, event_type TEXT NOT NULL,
    state_before TEXT, state_after TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (kind, id, sequence));
`;

export interface SqliteJournalOptions {
  /** "process-crash" (default): survives kill -9. "power-loss": also fsyncs every batch. */
  readonly durability?: "process-crash" | "power-loss";
}

/** How long close() waits for the checkpointer thread to close its connection. */
const CHECKPOINTER_CLOSE_MS = 2_000;

/** Commits between two checkpoint requests to the checkpointer thread. */
const CHECKPOINT_EVERY = 256;

export class SqliteJournal implements Journal<DatabaseSync> {
  readonly #db: DatabaseSync;
  readonly #lock: DataDirLock;
  readonly epoch: string;
  readonly #statements;
  readonly #checkpointer: Worker;
  #commitsSinceCheckpoint = 0;

  private constructor(db: DatabaseSync, lock: DataDirLock, epoch: string, path: string) {
    this.#db = db;
    this.#lock = lock;
    this.epoch = epoch;
    this.#checkpointer = new Worker(new URL("./sqlite_checkpointer.ts", import.meta.url).href, { type: "module" });
    this.#checkpointer.postMessage({ open: path });
    this.#statements = {
      link: db.prepare(
        `INSERT INTO links (peer, next_seq, peer_epoch, delivered) VALUES (?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET next_seq = excluded.next_seq, peer_epoch = excluded.peer_epoch,
           delivered = excluded.delivered`,
      ),
      outboxAdd: db.prepare(
        `INSERT OR REPLACE INTO outbox (peer, seq, recipient, kind, body) VALUES (?, ?, ?, ?, ?)`,
      ),
      outboxAcked: db.prepare(`DELETE FROM outbox WHERE peer = ? AND seq <= ?`),
      snapshot: db.prepare(
        `INSERT INTO snapshots (kind, id, sequence, snapshot) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, id) DO UPDATE SET sequence = excluded.sequence, snapshot = excluded.snapshot`,
      ),
      snapshotRemoved: db.prepare(`DELETE FROM snapshots WHERE kind = ? AND id = ?`),
      transition: db.prepare(
        `INSERT OR IGNORE INTO transitions (kind, id, sequence, event_type, state_before, state_after, payload, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  /** Opens (creating if needed) the journal in `directory`, which this process then owns. */
  static open(directory: string, options: SqliteJournalOptions = {}): SqliteJournal {
    const lock = lockDataDir(directory, "another process uses this state directory; stop it first");
    try {
      const path = join(directory, "journal.sqlite3");
      const db = new DatabaseSync(path);
      // Checkpoints run on the checkpointer thread, never inside a commit.
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 1000;
        PRAGMA synchronous = ${options.durability === "power-loss" ? "FULL" : "NORMAL"};`);
      db.exec(SCHEMA);
      let row = db.prepare(`SELECT value FROM meta WHERE key = 'epoch'`).get() as { value: string } | undefined;
      if (!row) {
        db.prepare(`INSERT INTO meta (key, value) VALUES ('epoch', ?)`).run(crypto.randomUUID());
        row = db.prepare(`SELECT value FROM meta WHERE key = 'epoch'`).get() as { value: string };
      }
      return new SqliteJournal(db, lock, row.value, path);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  load(): Promise<JournalContents> {
    const links = this.#db.prepare(`SELECT peer, next_seq, peer_epoch, delivered FROM links ORDER BY peer`).all()
      .map((r): LinkRecord => ({
        peer: r.peer as string,
        nextSeq: r.next_seq as number,
        peerEpoch: r.peer_epoch as string | null,
        delivered: r.delivered as number,
      }));
    const outbox = this.#db.prepare(`SELECT peer, seq, recipient, kind, body FROM outbox ORDER BY peer, seq`).all()
      .map((r): OutboxRecord => ({
        peer: r.peer as string,
        seq: r.seq as number,
        to: r.recipient as string,
        kind: r.kind as string,
        body: r.body as string,
      }));
    const snapshots = this.#db.prepare(`SELECT kind, id, sequence, snapshot FROM snapshots ORDER BY kind, id`).all()
      .map((r): SnapshotRecord => ({
        kind: r.kind as string,
        id: r.id as string,
        sequence: r.sequence as number,
        snapshot: JSON.parse(r.snapshot as string),
      }));
    return Promise.resolve({ links, outbox, snapshots });
  }

  async commit(batch: JournalBatch<DatabaseSync>): Promise<void> {
    const s = this.#statements;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const l of batch.links) s.link.run(l.peer, l.nextSeq, l.peerEpoch, l.delivered);
      for (const o of batch.outboxAdd) s.outboxAdd.run(o.peer, o.seq, o.to, o.kind, o.body);
      for (const a of batch.outboxAcked) s.outboxAcked.run(a.peer, a.upTo);
      for (const r of batch.snapshots) {
        if (isRemoval(r)) s.snapshotRemoved.run(r.kind, r.id);
        else s.snapshot.run(r.kind, r.id, r.sequence, JSON.stringify(r.snapshot));
      }
      for (const t of batch.transitions) {
        s.transition.run(
          t.actorKind,
          t.actorId,
          t.sequence,
          t.eventType,
          t.stateBefore,
          t.stateAfter,
          JSON.stringify(t.payload ?? {}),
          t.at.toISOString(),
        );
      }
      for (const work of batch.work) await work(this.#db);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    if (++this.#commitsSinceCheckpoint >= CHECKPOINT_EVERY) {
      this.#commitsSinceCheckpoint = 0;
      this.#checkpointer.postMessage({ checkpoint: true });
    }
  }

  transitions(kind: string, id: string, afterSequence = -1): Promise<TransitionRecord[]> {
    const rows = this.#db.prepare(
      `SELECT sequence, event_type, state_before, state_after, payload, at FROM transitions
       WHERE kind = ? AND id = ? AND sequence > ? ORDER BY sequence`,
    ).all(kind, id, afterSequence);
    return Promise.resolve(rows.map((r) => ({
      actorKind: kind,
      actorId: id,
      sequence: r.sequence as number,
      eventType: r.event_type as string,
      stateBefore: r.state_before as string | null,
      stateAfter: r.state_after as string,
      payload: JSON.parse(r.payload as string),
      at: new Date(r.at as string),
    })));
  }

  /** The raw database, for a process's own tables beside the journal's. */
  get database(): DatabaseSync {
    return this.#db;
  }

  async close(): Promise<void> {
    await this.#stopCheckpointer();
    if (this.#db.isOpen) {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      this.#db.close();
    }
    this.#lock.release();
  }

  /**
   * The checkpointer's connection is closed before the journal's: a thread merely
   * terminated closes its connection whenever it ends, possibly after close() has
   * returned and someone has begun removing the directory.
   */
  async #stopCheckpointer(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CHECKPOINTER_CLOSE_MS);
      this.#checkpointer.onmessage = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#checkpointer.postMessage({ close: true });
    await closed;
    this.#checkpointer.terminate();
  }
}
