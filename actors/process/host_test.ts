import { assertEquals } from "../../tests/support/assert.ts";
import type { Journal, JournalBatch, JournalContents, SnapshotRecord } from "../runtime/journal.ts";
import { memoryLogger } from "../runtime/log.ts";
import { ActorHost } from "./host.ts";

/** A journal in memory that records, in order, what was written to it and when it was closed. */
function memoryJournal(snapshots: SnapshotRecord[]) {
  const events: string[] = [];
  const journal: Journal<unknown> = {
    epoch: "e1",
    load: (): Promise<JournalContents> => Promise.resolve({ links: [], outbox: [], snapshots }),
    commit: (batch: JournalBatch<unknown>) => {
      for (const s of batch.snapshots) events.push(`write ${s.kind}/${s.id}`);
      return Promise.resolve();
    },
    transitions: () => Promise.resolve([]),
    close: () => {
      events.push("close");
      return Promise.resolve();
    },
  };
  return { journal, events };
}

Deno.test("a host gives each actor the snapshot it had when the process stopped", async () => {
  const job = { kind: "job", id: "7", sequence: 3, snapshot: { value: "Running" } };
  const device = { kind: "device", id: "qemu01", sequence: 1, snapshot: { value: "Idle" } };
  const { journal } = memoryJournal([job, device]);
  const host = await ActorHost.open({ name: "master", journal, logger: memoryLogger(), onEscalate: () => {} });
  try {
    assertEquals(host.restored("job", "7"), job);
    assertEquals(host.restored("job", "8"), undefined);
    assertEquals(host.restoredOfKind("device"), [device]);
  } finally {
    await host.close();
  }
});

Deno.test("closing a host writes what its actors staged before the journal closes", async () => {
  const { journal, events } = memoryJournal([]);
  const host = await ActorHost.open({ name: "w1", journal, logger: memoryLogger(), onEscalate: () => {} });
  host.committer.stage((batch) => batch.snapshots.push({ kind: "runs", id: "w1", sequence: 1, snapshot: {} }));
  await host.close();
  assertEquals(events, ["write runs/w1", "close"]);
});
