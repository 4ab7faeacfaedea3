/**
 * Opens the lab's database on either backend and brings its schema up to date.
 * Everything above this module talks kysely and never learns which backend it got.
 */
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import pg from "pg";
import { join } from "../../actors/path.ts";
import { DataDirInUseError, lockDataDir } from "../../actors/runtime/dir_lock.ts";
import { MIGRATIONS } from "./migrations/mod.ts";
import type { Database } from "./schema.ts";
import { describeTarget, type StorageTarget } from "./target.ts";

export interface Storage {
  readonly db: Kysely<Database>;
  readonly target: StorageTarget;
  /** Migrations applied by this open, in order (empty when the schema was current). */
  readonly applied: readonly string[];
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Replaces Basalt's migrations; tests use it to prove failure handling. */
  readonly migrations?: Readonly<Record<string, Migration>>;
}

/** The database could not be opened or its schema could not be brought up to date. */
export class StorageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageError";
  }
}

/** A migration failed; none of the migrations of that run were applied. */
export class MigrationError extends StorageError {
  constructor(
    readonly migration: string,
    readonly currentVersion: string | undefined,
    cause: unknown,
  ) {
    super(
      `migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        `Nothing of this run was applied (migrations run in one transaction); the database is still at ` +
        `${currentVersion ?? "no schema"} and usable by the version that wrote it.`,
      { cause },
    );
    this.name = "MigrationError";
  }
}

const MIGRATION_TABLE = "basalt_migrations";
const MIGRATION_LOCK_TABLE = "basalt_migrations_lock";

/**
 * Opens storage and migrates it to the latest schema.
 *
 * @example
 * ```ts
 * const storage = await openStorage({ kind: "pglite", dataDir: "./data" });
 * const devices = await storage.db.selectFrom("devices").selectAll().execute();
 * await storage.close();
 * ```
 */
export async function openStorage(target: StorageTarget, options: OpenOptions = {}): Promise<Storage> {
  const { db, release } = target.kind === "pglite" ? await openPGlite(target.dataDir) : await openPostgres(target.url);
  try {
    const applied = await migrate(db, options.migrations ?? MIGRATIONS);
    let closed = false;
    return {
      db,
      target,
      applied,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await db.destroy();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    await db.destroy().catch(() => {});
    release();
    throw error;
  }
}

async function openPGlite(dataDir: string): Promise<{ db: Kysely<Database>; release: () => void }> {
  let lock;
  try {
    lock = lockDataDir(
      dataDir,
      "stop that process (a running master?), or use --db with PostgreSQL to share the database between processes",
    );
  } catch (error) {
    if (error instanceof DataDirInUseError) throw error;
    throw new StorageError(`cannot use ${dataDir} as the data directory: ${errorText(error)}`, { cause: error });
  }
  try {
    const pglite = await PGlite.create(join(dataDir, "pglite"));
    return { db: new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }), release: lock.release };
  } catch (error) {
    lock.release();
    throw new StorageError(`cannot open the embedded database in ${dataDir}: ${errorText(error)}`, { cause: error });
  }
}

// pg hands back int8 as a string; PGlite as a number. Basalt's int8 values
// (event ids, counts) stay far below 2^53, so both become numbers.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser:
    ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID && format !== "binary"
        ? (value: string) => Number(value)
        : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

async function openPostgres(url: string): Promise<{ db: Kysely<Database>; release: () => void }> {
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: 10 });
  // A client that loses its server must not take the process down: an idle one reports to the pool, and one held
  // between the statements of a transaction reports to itself (its next statement then fails, and is retried).
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new StorageError(
      `cannot connect to ${describeTarget({ kind: "postgres", url })}: ${errorText(error)}`,
      { cause: error },
    );
  }
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), release: () => {} };
}

async function migrate(db: Kysely<Database>, migrations: Readonly<Record<string, Migration>>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const before = await appliedMigrations(db);
  const unknown = before.filter((name) => !(name in migrations));
  if (unknown.length > 0) {
    throw new StorageError(
      `the database has migrations this version of Basalt does not know (${unknown.join(", ")}): ` +
        `it was written by a newer Basalt. Run that version, or restore a backup taken before the upgrade.`,
    );
  }
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === "Error");
    if (failed) throw new MigrationError(failed.migrationName, before.at(-1), error);
    throw new StorageError(`cannot migrate the database: ${errorText(error)}`, { cause: error });
  }
  return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
}

async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const exists = await sql<{ found: boolean }>`SELECT to_regclass(${MIGRATION_TABLE}) IS NOT NULL AS found`.execute(db);
  if (!exists.rows[0]?.found) return [];
  const rows = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)} ORDER BY name`.execute(db);
  return rows.rows.map((r) => r.name);
}

function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return errorText(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
