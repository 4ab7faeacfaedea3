/**
 * Groups of users and what they may do with a device: LAVA's `visibility: group`
 * jobs are shared with groups, and a device hidden from the public (`is_public`
 * false) is seen by superusers and by groups granted `view`, `submit` or `change`
 * on it. Written by `deno task manage`; read by the master's catalog when it starts.
 */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import type { Database } from "./schema.ts";

export type DevicePermission = "view" | "submit" | "change";
export const DEVICE_PERMISSIONS: readonly DevicePermission[] = ["view", "submit", "change"];

async function userId(db: Kysely<Database>, username: string): Promise<number> {
  const user = await db.selectFrom("users").select("id").where("username", "=", username).executeTakeFirst();
  if (!user) throw new NotFoundError(`user ${JSON.stringify(username)} does not exist`);
  return user.id;
}

async function groupId(db: Kysely<Database>, name: string): Promise<number> {
  const group = await db.selectFrom("groups").select("id").where("name", "=", name).executeTakeFirst();
  if (!group) {
    throw new NotFoundError(`group ${JSON.stringify(name)} does not exist (add it with: deno task manage groups add)`);
  }
  return group.id;
}

/** Adds a group with its first members. */
export async function addGroup(db: Kysely<Database>, name: string, usernames: readonly string[] = []): Promise<void> {
  const ids: number[] = [];
  for (const username of usernames) ids.push(await userId(db, username));
  await db.transaction().execute(async (tx) => {
    const group = await explainConstraint(
      () => tx.insertInto("groups").values({ name }).returning("id").executeTakeFirstOrThrow(),
      {
        unique: () => new AlreadyExistsError(`group ${JSON.stringify(name)} already exists`),
        check: () => new InvalidValueError(`group ${JSON.stringify(name)}: a name has 1 to 150 characters`),
      },
    );
    for (const id of ids) await tx.insertInto("user_groups").values({ user_id: id, group_id: group.id }).execute();
  });
}

/** Puts users into a group (those already in it stay). */
export async function addGroupMembers(db: Kysely<Database>, name: string, usernames: readonly string[]): Promise<void> {
  const group = await groupId(db, name);
  for (const username of usernames) {
    await db.insertInto("user_groups").values({ user_id: await userId(db, username), group_id: group })
      .onConflict((c) => c.doNothing()).execute();
  }
}

/** The groups and their members, by name. */
export async function listGroups(db: Kysely<Database>): Promise<{ name: string; members: string[] }[]> {
  const groups = await db.selectFrom("groups").select(["id", "name"]).orderBy("name").execute();
  const members = await db.selectFrom("user_groups as g").innerJoin("users as u", "u.id", "g.user_id")
    .select(["g.group_id", "u.username"]).orderBy("u.username").execute();
  return groups.map((g) => ({
    name: g.name,
    members: members.filter((m) => m.group_id === g.id).map((m) => m.username),
  }));
}

async function deviceExists(db: Kysely<Database>, hostname: string): Promise<void> {
  const device = await db.selectFrom("devices").select("hostname").where("hostname", "=", hostname)
    .executeTakeFirst();
  if (!device) throw new NotFoundError(`device ${JSON.stringify(hostname)} does not exist`);
}

/** Grants a group a permission on a device. */
export async function grantDevice(
  db: Kysely<Database>,
  hostname: string,
  group: string,
  permission: DevicePermission,
): Promise<void> {
  await deviceExists(db, hostname);
  await db.insertInto("device_group_permissions")
    .values({ device_hostname: hostname, group_id: await groupId(db, group), permission })
    .onConflict((c) => c.doNothing()).execute();
}

/** Shows a device to everyone, or only to superusers and the groups granted a permission on it. */
export async function setDevicePublic(db: Kysely<Database>, hostname: string, isPublic: boolean): Promise<void> {
  await deviceExists(db, hostname);
  await db.updateTable("devices").set({ is_public: isPublic }).where("hostname", "=", hostname).execute();
}
