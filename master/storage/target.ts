/**
 * Where the lab's database lives: an embedded PGlite data directory (the
 * zero-setup default) or a PostgreSQL server. Every process that opens storage
 * takes the same `--data-dir DIR | --db URL` pair.
 */

export type StorageTarget =
  | { readonly kind: "pglite"; readonly dataDir: string }
  | { readonly kind: "postgres"; readonly url: string };

export const DEFAULT_DATA_DIR = "./data";

/** Thrown for storage options that cannot be used as given. */
export class StorageOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageOptionsError";
  }
}

/**
 * Picks the storage target from command-line values.
 *
 * @example
 * ```ts
 * storageTargetFrom({ db: "postgres://basalt@127.0.0.1/basalt" }); // { kind: "postgres", ... }
 * storageTargetFrom({}); // { kind: "pglite", dataDir: "./data" }
 * ```
 */
export function storageTargetFrom(options: { dataDir?: string; db?: string }): StorageTarget {
  if (options.dataDir !== undefined && options.db !== undefined) {
    throw new StorageOptionsError("give either --data-dir (embedded database) or --db (PostgreSQL URL), not both");
  }
  if (options.db !== undefined) {
    let url: URL;
    try {
      url = new URL(options.db);
    } catch {
      throw new StorageOptionsError(
        `--db ${JSON.stringify(options.db)} is not a URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE`,
      );
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      throw new StorageOptionsError(`--db must be a postgres:// URL, got ${url.protocol}//...`);
    }
    return { kind: "postgres", url: options.db };
  }
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  if (dataDir.trim() === "") throw new StorageOptionsError("--data-dir must not be empty");
  return { kind: "pglite", dataDir };
}

/** A human-readable name for the target, with any password hidden. */
export function describeTarget(target: StorageTarget): string {
  if (target.kind === "pglite") return `embedded database in ${target.dataDir}`;
  const url = new URL(target.url);
  if (url.password) url.password = "***";
  return `PostgreSQL at ${url.toString()}`;
}
