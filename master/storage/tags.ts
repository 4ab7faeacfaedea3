/** Tags: what a job's `tags` ask of a device; kept apart from devices so a tag can be described and removed. */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import type { Database } from "./schema.ts";

export interface TagInfo {
  readonly name: string;
  readonly description: string;
  readonly devices: string[];
}

export async function addTag(db: Kysely<Database>, name: string, description = ""): Promise<void> {
  await explainConstraint(() => db.insertInto("tags").values({ name, description }).execute(), {
    unique: () => new AlreadyExistsError(`tag ${JSON.stringify(name)} already exists`),
    check: () => new InvalidValueError(`tag ${JSON.stringify(name)} is not valid: it has 1 to 50 characters`),
  });
}

/** Removes a tag from the lab, from the devices that have it and from old jobs that asked for it. */
export async function deleteTag(db: Kysely<Database>, name: string): Promise<void> {
  const result = await db.deleteFrom("tags").where("name", "=", name).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`tag ${JSON.stringify(name)} does not exist`);
}

export async function showTag(db: Kysely<Database>, name: string): Promise<TagInfo> {
  const tag = await db.selectFrom("tags").selectAll().where("name", "=", name).executeTakeFirst();
  if (!tag) throw new NotFoundError(`tag ${JSON.stringify(name)} does not exist`);
  const devices = await db.selectFrom("device_tags").select("device_hostname").where("tag", "=", name)
    .orderBy("device_hostname").execute();
  return { name: tag.name, description: tag.description, devices: devices.map((d) => d.device_hostname) };
}
