/**
 * Groups of users and what they may do with a device: LAVA's `visibility: group`
 * jobs are shared with groups, and a device hidden from the public (`is_public`
 * false) is seen by superusers and by groups granted `view`, `submit` or `change`
 * on it; LAVA's `view`, `submit` and `change` on devices and device types are
 * granted to groups here. Written by `deno task manage` and the master's admin
 * operations; read by the master's AccessRules (lab/visibility.ts).
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

/** What a permission is on: a device (by host name) or a device type (by name). */
export type PermissionTarget = { readonly device: string } | { readonly deviceType: string };

async function targetExists(db: Kysely<Database>, target: PermissionTarget): Promise<void> {
  if ("device" in target) return await deviceExists(db, target.device);
  const type = await db.selectFrom("device_types").select("name").where("name", "=", target.deviceType)
    .executeTakeFirst();
  if (!type) throw new NotFoundError(`device type ${JSON.stringify(target.deviceType)} does not exist`);
}

/** Grants a group a permission on a device or device type (granting it twice is granting it once). */
export async function grant(
  db: Kysely<Database>,
  target: PermissionTarget,
  group: string,
  permission: DevicePermission,
): Promise<void> {
  await targetExists(db, target);
  const group_id = await groupId(db, group);
  const query = "device" in target
    ? db.insertInto("device_group_permissions").values({ device_hostname: target.device, group_id, permission })
    : db.insertInto("device_type_group_permissions").values({ device_type: target.deviceType, group_id, permission });
  await query.onConflict((c) => c.doNothing()).execute();
}

/** Takes a permission back; false when the group did not hold it. */
export async function revoke(
  db: Kysely<Database>,
  target: PermissionTarget,
  group: string,
  permission: DevicePermission,
): Promise<boolean> {
  await targetExists(db, target);
  const group_id = await groupId(db, group);
  const result = "device" in target
    ? await db.deleteFrom("device_group_permissions").where("device_hostname", "=", target.device)
      .where("group_id", "=", group_id).where("permission", "=", permission).executeTakeFirst()
    : await db.deleteFrom("device_type_group_permissions").where("device_type", "=", target.deviceType)
      .where("group_id", "=", group_id).where("permission", "=", permission).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Grants a group a permission on a device. */
export async function grantDevice(
  db: Kysely<Database>,
  hostname: string,
  group: string,
  permission: DevicePermission,
): Promise<void> {
  await grant(db, { device: hostname }, group, permission);
}

/** The grants on a device or device type, by group name. */
export async function grantsOn(
  db: Kysely<Database>,
  target: PermissionTarget,
): Promise<{ group: string; permission: DevicePermission }[]> {
  const rows = "device" in target
    ? await db.selectFrom("device_group_permissions as p").innerJoin("groups as g", "g.id", "p.group_id")
      .select(["g.name as group", "p.permission"]).where("p.device_hostname", "=", target.device)
      .orderBy("g.name").orderBy("p.permission").execute()
    : await db.selectFrom("device_type_group_permissions as p").innerJoin("groups as g", "g.id", "p.group_id")
      .select(["g.name as group", "p.permission"]).where("p.device_type", "=", target.deviceType)
      .orderBy("g.name").orderBy("p.permission").execute();
  return rows;
}

/**
 * Makes a user's groups exactly `groups`, as LAVA's `system.set_user_groups`: names that are not groups are
 * skipped and returned.
 */
export async function setUserGroups(
  db: Kysely<Database>,
  username: string,
  groups: readonly string[],
): Promise<string[]> {
  const user = await userId(db, username);
  const found = groups.length === 0
    ? []
    : await db.selectFrom("groups").select(["id", "name"]).where("name", "in", [...groups]).execute();
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom("user_groups").where("user_id", "=", user).execute();
    if (found.length > 0) {
      await tx.insertInto("user_groups").values(found.map((g) => ({ user_id: user, group_id: g.id }))).execute();
    }
  });
  const names = new Set(found.map((g) => g.name));
  return groups.filter((g) => !names.has(g));
}

/** Takes users out of a group. */
export async function removeGroupMembers(
  db: Kysely<Database>,
  name: string,
  usernames: readonly string[],
): Promise<void> {
  const group = await groupId(db, name);
  for (const username of usernames) {
    await db.deleteFrom("user_groups").where("group_id", "=", group).where("user_id", "=", await userId(db, username))
      .execute();
  }
}

/** Deletes a group, its memberships and its grants; group jobs it could see stay visible only to their other groups. */
export async function deleteGroup(db: Kysely<Database>, name: string): Promise<void> {
  const group = await groupId(db, name);
  const used = await db.selectFrom("test_job_viewing_groups").select("job_id").where("group_id", "=", group)
    .limit(1).executeTakeFirst();
  if (used) {
    throw new InvalidValueError(
      `group ${JSON.stringify(name)} is one of the viewing groups of job ${used.job_id}: removing it would show ` +
        `that job to fewer groups' members than its submitter chose; empty the group instead`,
    );
  }
  await db.deleteFrom("groups").where("id", "=", group).execute();
}

/** Shows a device to everyone, or only to superusers and the groups granted a permission on it. */
export async function setDevicePublic(db: Kysely<Database>, hostname: string, isPublic: boolean): Promise<void> {
  await deviceExists(db, hostname);
  await db.updateTable("devices").set({ is_public: isPublic }).where("hostname", "=", hostname).execute();
}
