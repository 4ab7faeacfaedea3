/**
 * The history of every actor's transitions (job, device, worker, dispatch run):
 * the evidence behind "why is this device Bad". Append-only; a sequence number per
 * actor makes a replayed event land once.
 */
import type { Kysely } from "kysely";
import type { ActorEvent, Database, Json } from "./schema.ts";

export interface NewActorEvent {
  readonly actorKind: string;
  readonly actorId: string;
  readonly sequence: number;
  readonly eventType: string;
  readonly stateBefore: string | null;
  readonly stateAfter: string;
  readonly payload?: Json;
  readonly at?: Date;
}

/** Appends one event; false when that actor's sequence number was already stored. */
export async function appendActorEvent(db: Kysely<Database>, event: NewActorEvent): Promise<boolean> {
  const result = await db.insertInto("actor_events").values({
    actor_kind: event.actorKind,
    actor_id: event.actorId,
    sequence: event.sequence,
    event_type: event.eventType,
    state_before: event.stateBefore,
    state_after: event.stateAfter,
    payload: JSON.stringify(event.payload ?? {}),
    created_at: event.at ?? new Date(),
  }).onConflict((oc) => oc.columns(["actor_kind", "actor_id", "sequence"]).doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** One actor's events in sequence order, optionally only those after `afterSequence`. */
export async function listActorEvents(
  db: Kysely<Database>,
  actorKind: string,
  actorId: string,
  afterSequence = -1,
): Promise<ActorEvent[]> {
  return await db.selectFrom("actor_events").selectAll()
    .where("actor_kind", "=", actorKind)
    .where("actor_id", "=", actorId)
    .where("sequence", ">", afterSequence)
    .orderBy("sequence")
    .execute();
}
