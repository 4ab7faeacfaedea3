/**
 * What every journal (actors/runtime/journal.ts) must do, as test steps run
 * against each implementation: the SQLite journal of workers and the master's
 * database journal on PGlite and PostgreSQL.
 */
import { emptyBatch, type Journal, type JournalBatch } from "../../actors/runtime/journal.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";

/** Opens the same journal again (after the previous one was closed), or a new one. */
export interface JournalFactory<Tx> {
  reopen(): Promise<Journal<Tx>>;
  fresh(): Promise<Journal<Tx>>;
  /** A write inside a batch's transaction that fails. */
  failingWork: (tx: Tx) => void | Promise<void>;
}

function batch<Tx>(parts: Partial<JournalBatch<Tx>>): JournalBatch<Tx> {
  return { ...emptyBatch<Tx>(), ...parts };
}

export const JOURNAL_CASES = [
  {
    name: "the epoch is made once and kept across reopening",
    async fn<Tx>(f: JournalFactory<Tx>) {
      const first = await f.reopen();
      const epoch = first.epoch;
      await first.close();
      const again = await f.reopen();
      assertEquals(again.epoch, epoch);
      await again.close();
      const other = await f.fresh();
      assertNotEquals(other.epoch, epoch);
      await other.close();
    },
  },
  {
    name: "links, unacknowledged messages and snapshots survive reopening",
    async fn<Tx>(f: JournalFactory<Tx>) {
      const j = await f.reopen();
      const message = (seq: number) => ({ peer: "w1", seq, to: "job/7", kind: "job.log", body: `{"n":${seq}}` });
      await j.commit(batch<Tx>({
        links: [{ peer: "w1", nextSeq: 6, peerEpoch: "e-1", delivered: 41 }],
        outboxAdd: [1, 2, 3, 4, 5].map(message),
        snapshots: [
          { kind: "device", id: "qemu01", sequence: 3, snapshot: { value: "Idle", context: { n: 1 } } },
          { kind: "job", id: "7", sequence: 1, snapshot: { value: "Running" } },
        ],
      }));
      await j.commit(batch<Tx>({
        outboxAcked: [{ peer: "w1", upTo: 3 }],
        links: [{ peer: "w1", nextSeq: 6, peerEpoch: "e-1", delivered: 42 }],
        snapshots: [
          { kind: "job", id: "7", removed: true },
          { kind: "device", id: "qemu01", sequence: 4, snapshot: { value: "Running", context: { n: 2 } } },
          { kind: "job", id: "8", sequence: 1, snapshot: { value: "Submitted" } },
          { kind: "job", id: "8", removed: true },
          { kind: "job", id: "9", removed: true },
          { kind: "job", id: "9", sequence: 1, snapshot: { value: "Queued" } },
        ],
      }));
      await j.close();
      const again = await f.reopen();
      const contents = await again.load();
      assertEquals(contents.links, [{ peer: "w1", nextSeq: 6, peerEpoch: "e-1", delivered: 42 }]);
      assertEquals(contents.outbox, [message(4), message(5)]);
      assertEquals(contents.snapshots, [
        { kind: "device", id: "qemu01", sequence: 4, snapshot: { value: "Running", context: { n: 2 } } },
        { kind: "job", id: "9", sequence: 1, snapshot: { value: "Queued" } },
      ]);
      await again.close();
    },
  },
  {
    name: "transitions are kept in order and a replayed one lands once",
    async fn<Tx>(f: JournalFactory<Tx>) {
      const j = await f.reopen();
      const at = new Date("2026-11-26T08:00:00.000Z");
      const t = (sequence: number, stateAfter: string) => ({
        actorKind: "worker",
        actorId: "w9",
        sequence,
        eventType: "heartbeat.lost",
        stateBefore: "Online",
        stateAfter,
        payload: { silentFor: 3 },
        at,
      });
      await j.commit(batch<Tx>({ transitions: [t(1, "Offline"), t(2, "Online")] }));
      await j.commit(batch<Tx>({ transitions: [t(2, "ignored"), t(3, "Offline")] }));
      const all = await j.transitions("worker", "w9");
      assertEquals(all.map((r) => [r.sequence, r.stateAfter]), [[1, "Offline"], [2, "Online"], [3, "Offline"]]);
      assertEquals(all[0].payload, { silentFor: 3 });
      assertEquals(all[0].at.toISOString(), at.toISOString());
      assertEquals((await j.transitions("worker", "w9", 2)).map((r) => r.sequence), [3]);
      await j.close();
    },
  },
  {
    name: "a message acknowledged in the batch that adds it never lands",
    async fn<Tx>(f: JournalFactory<Tx>) {
      const j = await f.reopen();
      await j.commit(batch<Tx>({
        outboxAdd: [1, 2, 3].map((seq) => ({ peer: "w-fast", seq, to: "x", kind: "k", body: "{}" })),
        outboxAcked: [{ peer: "w-fast", upTo: 2 }],
      }));
      assertEquals((await j.load()).outbox.filter((o) => o.peer === "w-fast").map((o) => o.seq), [3]);
      await j.commit(batch<Tx>({ outboxAcked: [{ peer: "w-fast", upTo: 3 }] }));
      assertEquals((await j.load()).outbox.filter((o) => o.peer === "w-fast"), []);
      await j.close();
    },
  },
  {
    name: "a batch whose extra work fails lands nothing",
    async fn<Tx>(f: JournalFactory<Tx>) {
      const j = await f.reopen();
      const before = await j.load();
      await assertRejects(() =>
        j.commit(batch<Tx>({
          links: [{ peer: "w-fail", nextSeq: 2, peerEpoch: null, delivered: 0 }],
          outboxAdd: [{ peer: "w-fail", seq: 1, to: "x", kind: "k", body: "{}" }],
          work: [f.failingWork],
        }))
      );
      const after = await j.load();
      assertEquals(after, before);
      assert(!after.links.some((l) => l.peer === "w-fail"));
      await j.close();
    },
  },
] as const;
