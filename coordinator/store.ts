/**
 * The coordinator's groups on disk (SQLite, one row per group), written before a
 * reply leaves, so a coordinator killed between a `lava_send` and the matching
 * `lava_wait` still has the message when it comes back.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "../actors/path.ts";
import { type DataDirLock, lockDataDir } from "../actors/runtime/dir_lock.ts";
import { deserializeGroup, type Group } from "./groups.ts";

export class GroupStore {
  readonly #db: DatabaseSync;
  readonly #lock: DataDirLock;
  readonly #upsert;
  readonly #delete;
  readonly #select;

  private constructor(db: DatabaseSync, lock: DataDirLock) {
    this.#db = db;
    this.#lock = lock;
    this.#upsert = db.prepare(
      "INSERT INTO groups (name, state) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state",
    );
    this.#delete = db.prepare("DELETE FROM groups WHERE name = ?");
    this.#select = db.prepare("SELECT state FROM groups WHERE name = ?");
  }

  static open(directory: string): GroupStore {
    const lock = lockDataDir(directory, "stop the other coordinator first");
    const db = new DatabaseSync(join(directory, "coordinator.sqlite"));
    // WAL with NORMAL sync survives the process being killed, which is what restarts are about.
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, state TEXT NOT NULL)`);
    return new GroupStore(db, lock);
  }

  /** Every stored group, with the length of its stored state. */
  load(): { group: Group; size: number }[] {
    const rows = this.#db.prepare("SELECT state FROM groups").all() as { state: string }[];
    return rows.map((r) => ({ group: deserializeGroup(r.state), size: r.state.length }));
  }

  /** A group as it was last stored: what a refused change goes back to. */
  get(name: string): Group | undefined {
    const row = this.#select.get(name) as { state: string } | undefined;
    return row ? deserializeGroup(row.state) : undefined;
  }

  /** Writes a group's state (serializeGroup's text), or removes the group when it is gone. */
  save(name: string, state: string | undefined): void {
    if (state !== undefined) this.#upsert.run(name, state);
    else this.#delete.run(name);
  }

  close(): void {
    this.#db.close();
    this.#lock.release();
  }
}
