/**
 * A state directory (an embedded PGlite database, a worker's journal) may be used
 * by one process at a time: two writers would corrupt it. The lock is a file
 * holding the owner's PID; a lock left by a process that is gone is taken over.
 */
import { join } from "../path.ts";

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number, hint = "stop it first") {
    super(
      pid === Deno.pid
        ? `the directory ${dataDir} is already open in this process`
        : `the directory ${dataDir} is in use by process ${pid}; ${hint}`,
    );
    this.name = "DataDirInUseError";
  }
}

export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = "basalt.lock";

/** Takes the lock on `dataDir` (created if missing) or throws {@link DataDirInUseError}. */
export function lockDataDir(dataDir: string, hint?: string): DataDirLock {
  Deno.mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = Deno.openSync(path, { write: true, createNew: true });
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
      file.close();
      return { release: () => removeIfOwned(path) };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const owner = readOwner(path);
    if (owner !== undefined && isAlive(owner)) throw new DataDirInUseError(dataDir, owner, hint);
    Deno.removeSync(path);
  }
  throw new Error(`could not take the lock ${path}: another process keeps re-creating it`);
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(Deno.readTextFileSync(path).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

function removeIfOwned(path: string): void {
  if (readOwner(path) === Deno.pid) Deno.removeSync(path);
}
