/** Every change an admin makes to the lab, kept (append-only) and shown on the changed object's page. */
import type { Kysely } from "kysely";
import type { AdminChangesTable, Database } from "./schema.ts";
import type { Selectable } from "kysely";

export type AdminChange = Selectable<AdminChangesTable>;

/** What was changed: `device`, `device-type`, `worker`, `user`, `group`, `tag`, `alias` or `job`, and its name. */
export interface ChangedObject {
  readonly kind: string;
  readonly name: string;
}

export async function recordChange(
  db: Kysely<Database>,
  username: string,
  object: ChangedObject,
  summary: string,
): Promise<void> {
  await db.insertInto("admin_changes").values({
    username,
    object_kind: object.kind,
    object_name: object.name,
    summary: summary.slice(0, 2000),
  }).execute();
}

/** The newest changes to one object first. */
export async function changesOf(db: Kysely<Database>, object: ChangedObject, limit = 50): Promise<AdminChange[]> {
  return await db.selectFrom("admin_changes").selectAll().where("object_kind", "=", object.kind)
    .where("object_name", "=", object.name).orderBy("id", "desc").limit(limit).execute();
}
