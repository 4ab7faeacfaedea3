/**
 * The far end of bench/mailbox.ts: a listening mailbox (the master's side) that
 * counts `bulk` messages and answers every `rtt` message with one of its own.
 * Its journal is the master's database (`--data-dir`/`--db`) or SQLite (`--state`).
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { defineProtocol, fail, isRecord } from "../actors/mailbox/protocol.ts";
import { ActorHost } from "../actors/process/host.ts";
import { createLogger } from "../actors/runtime/log.ts";
import { SqliteJournal } from "../actors/runtime/sqlite_journal.ts";
import { readAllowedKeys, readKeyPair } from "../actors/transport/zmq/curve.ts";
import { openStorage } from "../master/storage/database.ts";
import { StorageJournal } from "../master/storage/journal.ts";
import { storageTargetFrom } from "../master/storage/target.ts";

export const benchProtocol = defineProtocol({
  bulk: (body) => isRecord(body) && typeof body.i === "number" ? { i: body.i } : fail("i must be a number"),
  rtt: (body) => isRecord(body) && typeof body.t === "number" ? { t: body.t } : fail("t must be a number"),
});

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      listen: { type: "string" },
      "data-dir": { type: "string" },
      db: { type: "string" },
      state: { type: "string" },
      "curve-secret": { type: "string" },
      allow: { type: "string" },
    },
  });
  const logger = createLogger({ process: "bench-echo", level: "warning" });
  const storage = values.state
    ? undefined
    : await openStorage(storageTargetFrom({ dataDir: values["data-dir"], db: values.db }));
  const journal = storage ? await StorageJournal.open(storage.db) : SqliteJournal.open(values.state!);
  // deno-lint-ignore no-explicit-any
  const host = await ActorHost.open<any>({ name: "master", journal, logger });
  const curve = values["curve-secret"]
    ? {
      keyPair: await readKeyPair(values["curve-secret"]),
      authorize: async (request: { publicKey: string | undefined }) => ({
        userId: request.publicKey ? (await readAllowedKeys(values.allow!)).keys.get(request.publicKey) : undefined,
      }),
    }
    : undefined;
  let bulk = 0;
  const mailbox = await host.mailbox({
    protocol: benchProtocol,
    mode: { kind: "listen", endpoint: values.listen!, curve },
    onMessage: (delivery) => {
      if (delivery.kind === "bulk") bulk++;
      else mailbox.send(delivery.peer, "bench", "rtt", { t: delivery.body.t });
    },
  });
  console.log(JSON.stringify({ event: "ready" }));
  Deno.addSignalListener("SIGTERM", async () => {
    console.log(JSON.stringify({ event: "stats", bulk }));
    await host.close();
    await storage?.close();
    Deno.exit(0);
  });
}
