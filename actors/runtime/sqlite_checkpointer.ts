/**
 * A Web Worker that copies a SQLite journal's write-ahead log back into the
 * database file. Checkpoints flush to disk; done on the main thread they stall
 * every message the process handles for milliseconds, so they happen here, on a
 * connection of their own, while the main thread keeps committing.
 */
import { DatabaseSync } from "node:sqlite";

let db: DatabaseSync | undefined;

type Request = { open: string } | { checkpoint: true } | { close: true };

// A worker's global scope; typed by hand because the project's type set is the main thread's.
const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<Request>) => void;
  postMessage: (message: unknown) => void;
};

scope.onmessage = (event) => {
  const request = event.data;
  if ("close" in request) {
    // Closed here, before the journal's own connection, so that the last connection to close
    // (the one that removes the log files) is the journal's and its close is over when it returns.
    try {
      db?.close();
    } catch {
      // Already closed or never opened: nothing of the journal depends on it.
    }
    db = undefined;
    scope.postMessage({ closed: true });
    return;
  }
  try {
    if ("open" in request) {
      db = new DatabaseSync(request.open);
      db.exec("PRAGMA busy_timeout = 1000");
    } else if (db) {
      // PASSIVE never waits for the writer: what it cannot copy now, a later round will.
      db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    }
  } catch {
    // A failed round is retried at the next request; the journal itself is unaffected.
  }
};
