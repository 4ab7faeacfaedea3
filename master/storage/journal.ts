/**
 * The master's journal (see actors/runtime/journal.ts) in its database, on
 * PGlite or PostgreSQL alike: a batch is one transaction, so the master's actor
 * snapshots, its mailbox state and the writes of the handlers that caused them
 * land together or not at all.
 *
 * One exception keeps the lab going: a handler's write that the database refuses
 * for what it holds (a value past a column's range that got through the checks)
 * is left out, alone, and the batch lands without it. Otherwise the batch would
 * fail on every retry and nothing the master decides would be stored again.
 */
import { type Kysely, type RawBuilder, sql, type Transaction } from "kysely";
import {
  isRemoval,
  type Journal,
  type JournalBatch,
  type JournalContents,
  lastPerKey,
  type SnapshotRecord,
  type TransitionRecord,
} from "../../actors/runtime/journal.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { listActorEvents } from "./actor_events.ts";
import type { Database } from "./schema.ts";
import { isRefusedValue, storableJson } from "./storable.ts";

type Work = (trx: Transaction<Database>) => void | Promise<void>;

/** A batch's write that says what to do if the database refuses it (see `refusable`). */
export type RefusableWork = Work & { readonly refused: (error: unknown) => void };

/**
 * Marks a write of a batch as one whose refusal its owner handles: `refused` runs
 * once the batch has landed without it. Any write may be left out; one not marked
 * is only logged.
 *
 * @example
 * ```ts
 * scope.journal(refusable(async (trx) => await appendLogLines(trx, 12, lines), (error) => failJob(12, error)));
 * ```
 */
export function refusable(work: Work, refused: (error: unknown) => void): RefusableWork {
  return Object.assign(work, { refused });
}

/**
 * A write that is one statement: the journal sends it as a part of the batch's
 * single statement, so the batch still costs one round trip (a job's log lines,
 * delivered dozens of times a job, are the master's most frequent write). Run
 * alone, as any write, it executes its statement.
 */
export type StatementWork = RefusableWork & Part;

/**
 * A refusable write of one statement with `parameters` bound parameters.
 *
 * @example
 * ```ts
 * scope.journal(statementWork(logLinesInsert(12, lines), (error) => failJob(12, error)));
 * ```
 */
export function statementWork(
  write: Part,
  refused: (error: unknown) => void,
): StatementWork {
  const work = async (trx: Transaction<Database>) => {
    await write.statement.execute(trx);
  };
  return Object.assign(work, { refused, statement: write.statement, parameters: write.parameters });
}

function isStatementWork(work: Work): work is StatementWork {
  return "statement" in work && "parameters" in work;
}

export interface StorageJournalOptions {
  /** Told of a refused write that was not marked `refusable`; the default logs it. */
  readonly onRefused?: (error: unknown) => void;
}

const defaultLogger = createLogger({ process: "master" });

/** PostgreSQL allows 65535 parameters per statement; stay well below. */
const MAX_PARAMETERS = 30_000;

/** One SQL statement, with how many bound parameters it holds. */
export interface Part {
  readonly statement: RawBuilder<unknown>;
  readonly parameters: number;
}

type Cell = unknown;

function values(rows: readonly (readonly Cell[])[]): RawBuilder<unknown> {
  return sql.join(rows.map((row) => sql`(${sql.join(row.map((cell) => isRaw(cell) ? cell : sql`${cell}`))})`));
}

function isRaw(cell: Cell): cell is RawBuilder<unknown> {
  return typeof cell === "object" && cell !== null && "toOperationNode" in cell;
}

/** Splits rows into statements of at most MAX_PARAMETERS parameters each. */
function chunked<T>(rows: readonly T[], columns: number, build: (rows: readonly T[]) => RawBuilder<unknown>): Part[] {
  const perStatement = Math.floor(MAX_PARAMETERS / columns);
  const parts: Part[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const slice = rows.slice(i, i + perStatement);
    parts.push({ statement: build(slice), parameters: slice.length * columns });
  }
  return parts;
}

function asOneStatement(parts: readonly Part[]): RawBuilder<unknown> {
  if (parts.length === 1) return parts[0].statement;
  return sql`WITH ${
    sql.join(parts.map((p, i) => sql`${sql.raw(`part${i}`)} AS (${p.statement} RETURNING 1)`))
  } SELECT 1`;
}

export class StorageJournal implements Journal<Transaction<Database>> {
  private constructor(
    private readonly db: Kysely<Database>,
    readonly epoch: string,
    private readonly options: StorageJournalOptions,
  ) {}

  static async open(db: Kysely<Database>, options: StorageJournalOptions = {}): Promise<StorageJournal> {
    const row = await db.selectFrom("node_settings").select("value").where("key", "=", "epoch")
      .executeTakeFirstOrThrow();
    return new StorageJournal(db, row.value, options);
  }

  async load(): Promise<JournalContents> {
    const [links, outbox, snapshots] = await Promise.all([
      this.db.selectFrom("mailbox_links").selectAll().orderBy("peer").execute(),
      this.db.selectFrom("mailbox_outbox").selectAll().orderBy("peer").orderBy("seq").execute(),
      this.db.selectFrom("actor_snapshots").selectAll().orderBy("kind").orderBy("id").execute(),
    ]);
    return {
      links: links.map((l) => ({
        peer: l.peer,
        nextSeq: Number(l.next_seq),
        peerEpoch: l.peer_epoch,
        delivered: Number(l.delivered),
      })),
      outbox: outbox.map((o) => ({ peer: o.peer, seq: Number(o.seq), to: o.recipient, kind: o.kind, body: o.body })),
      snapshots: snapshots.map((s) => ({ kind: s.kind, id: s.id, sequence: s.sequence, snapshot: s.snapshot })),
    };
  }

  /**
   * A batch is one statement (data-modifying CTEs over VALUES lists), so it costs
   * one round trip to the server: that is what bounds the master's message latency.
   * Rows a batch both adds and removes are resolved before it is sent, because the
   * parts of one statement do not see each other's changes. A batch too big for one
   * statement's parameters is written part by part inside a transaction.
   */
  async commit(batch: JournalBatch<Transaction<Database>>): Promise<void> {
    const acked = new Map<string, number>();
    for (const a of batch.outboxAcked) acked.set(a.peer, Math.max(acked.get(a.peer) ?? -1, a.upTo));
    const adds = batch.outboxAdd.filter((o) => o.seq > (acked.get(o.peer) ?? -1));
    const links = lastPerKey(batch.links, (l) => l.peer);
    const changes = lastPerKey(batch.snapshots, (c) => `${c.kind}/${c.id}`);
    const saves = changes.filter((c) => !isRemoval(c)) as SnapshotRecord[];
    const removals = changes.filter(isRemoval);
    const parts: Part[] = [
      ...chunked(links, 4, (rows) =>
        sql`INSERT INTO mailbox_links (peer, next_seq, peer_epoch, delivered)
          VALUES ${values(rows.map((l) => [l.peer, l.nextSeq, l.peerEpoch, l.delivered]))}
          ON CONFLICT (peer) DO UPDATE SET next_seq = excluded.next_seq, peer_epoch = excluded.peer_epoch,
            delivered = excluded.delivered`),
      ...chunked(adds, 5, (rows) =>
        sql`INSERT INTO mailbox_outbox (peer, seq, recipient, kind, body)
          VALUES ${values(rows.map((o) => [o.peer, o.seq, o.to, o.kind, o.body]))}
          ON CONFLICT (peer, seq) DO NOTHING`),
      ...chunked([...acked], 2, (rows) =>
        sql`DELETE FROM mailbox_outbox o
          USING (VALUES ${
          values(rows.map(([peer, upTo]) => [sql`${peer}::text`, sql`${upTo}::bigint`]))
        }) AS a (peer, up_to)
          WHERE o.peer = a.peer AND o.seq <= a.up_to`),
      ...chunked(saves, 4, (rows) =>
        sql`INSERT INTO actor_snapshots (kind, id, sequence, snapshot, updated_at)
          VALUES ${
          values(rows.map((r) => [r.kind, r.id, r.sequence, sql`${storableJson(r.snapshot)}::jsonb`, sql`now()`]))
        }
          ON CONFLICT (kind, id) DO UPDATE SET sequence = excluded.sequence, snapshot = excluded.snapshot,
            updated_at = excluded.updated_at`),
      ...chunked(removals, 2, (rows) =>
        sql`DELETE FROM actor_snapshots s
          USING (VALUES ${values(rows.map((r) => [sql`${r.kind}::text`, sql`${r.id}::text`]))}) AS r (kind, id)
          WHERE s.kind = r.kind AND s.id = r.id`),
      ...chunked(
        batch.transitions,
        8,
        (rows) =>
          sql`INSERT INTO actor_events (actor_kind, actor_id, sequence, event_type, state_before, state_after, payload,
            created_at)
          VALUES ${
            values(
              rows.map((
                t,
              ) => [
                t.actorKind,
                t.actorId,
                t.sequence,
                t.eventType,
                t.stateBefore,
                t.stateAfter,
                sql`${storableJson(t.payload ?? {})}::jsonb`,
                sql`${t.at.toISOString()}::timestamptz`,
              ]),
            )
          }
          ON CONFLICT (actor_kind, actor_id, sequence) DO NOTHING`,
      ),
    ];
    const parameters = parts.reduce((n, p) => n + p.parameters, 0);
    const statements = batch.work.filter(isStatementWork);
    const inOne = statements.length === batch.work.length &&
      parameters + statements.reduce((n, w) => n + w.parameters, 0) <= MAX_PARAMETERS;
    if (inOne) {
      const all: Part[] = [...parts, ...statements];
      try {
        if (all.length > 0) await asOneStatement(all).execute(this.db);
        return;
      } catch (error) {
        // A refused value: the writes are tried one by one below, so the rest still lands.
        if (statements.length === 0 || !isRefusedValue(error)) throw error;
      }
    }
    const write = async (trx: Transaction<Database>) => {
      if (parameters <= MAX_PARAMETERS) {
        if (parts.length > 0) await asOneStatement(parts).execute(trx);
      } else {
        for (const part of parts) await part.statement.execute(trx);
      }
    };
    try {
      await this.db.transaction().execute(async (trx) => {
        await write(trx);
        for (const work of batch.work) await work(trx);
      });
    } catch (error) {
      if (batch.work.length === 0 || !isRefusedValue(error)) throw error;
      // Again, each write behind a savepoint: only on failure, as it costs two round trips a write.
      const refused = await this.db.transaction().execute(async (trx) => {
        await write(trx);
        return await writeEachAlone(trx, batch.work);
      });
      for (const { work, error } of refused) {
        if (isRefusable(work)) work.refused(error);
        else (this.options.onRefused ?? logRefusal)(error);
      }
    }
  }

  async transitions(kind: string, id: string, afterSequence = -1): Promise<TransitionRecord[]> {
    const events = await listActorEvents(this.db, kind, id, afterSequence);
    return events.map((e) => ({
      actorKind: e.actor_kind,
      actorId: e.actor_id,
      sequence: e.sequence,
      eventType: e.event_type,
      stateBefore: e.state_before,
      stateAfter: e.state_after,
      payload: e.payload,
      at: e.created_at,
    }));
  }

  /** The database belongs to the storage that opened it; closing the journal leaves it open. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Runs each write behind its own savepoint; a write refused for its values is
 * rolled back alone and returned. Any other failure fails the whole transaction.
 */
async function writeEachAlone(
  trx: Transaction<Database>,
  works: readonly Work[],
): Promise<{ work: Work; error: unknown }[]> {
  const refused: { work: Work; error: unknown }[] = [];
  for (const work of works) {
    await sql`SAVEPOINT basalt_write`.execute(trx);
    try {
      await work(trx);
    } catch (error) {
      if (!isRefusedValue(error)) throw error;
      await sql`ROLLBACK TO SAVEPOINT basalt_write`.execute(trx);
      refused.push({ work, error });
    }
    await sql`RELEASE SAVEPOINT basalt_write`.execute(trx);
  }
  return refused;
}

function isRefusable(work: Work): work is RefusableWork {
  return typeof (work as Partial<RefusableWork>).refused === "function";
}

function logRefusal(error: unknown): void {
  defaultLogger.error("the database refused a write; the rest of its batch was stored without it", { error });
}
