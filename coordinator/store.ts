/**
 * The coordinator's groups on disk (SQLite, one row per group), written before a
 * reply leaves, so a coordinator killed between a `lava_send` and the matching
 * `lava_wait` still has the message when it comes back.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { type DataDirLock, lockDataDir } from "../actors/runtime/dir_lock.ts";
import { deserializeGroup, type Group, serializeGroup } from "./groups.ts";

export class GroupStore {
  readonly #db: DatabaseSync;
  readonly #lock: DataDirLock;
  readonly #upsert;
  readonly #delete;

  private constructor(db: DatabaseSync, lock: DataDirLock) {
    this.#db = db;
    this.#lock = lock;
    this.#upsert = db.prepare(
      "INSERT INTO groups (name, state) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state",
    );
    this.#delete = db.prepare("DELETE FROM groups WHERE name = ?");
  }

  static open(directory: string): GroupStore {
    const lock = lockDataDir(directory, "stop the other coordinator first");
    const db = new DatabaseSync(join(directory, "coordinator.sqlite"));
    // WAL with NORMAL sync survives the process being killed, which is what restarts are about.
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, state TEXT NOT NULL)`);
    return new GroupStore(db, lock);
  }

  load(): Group[] {
    const rows = this.#db.prepare("SELECT state FROM groups").all() as { state: string }[];
    return rows.map((r) => deserializeGroup(r.state));
  }

  /** Writes a group as it is now, or removes it when it is gone. */
  save(name: string, group: Group | undefined): void {
    if (group) this.#upsert.run(name, serializeGroup(group));
    else this.#delete.run(name);
  }

  close(): void {
    this.#db.close();
    this.#lock.release();
  }
}
