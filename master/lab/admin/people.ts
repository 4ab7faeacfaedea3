/**
 * Admin changes to people: users (active or not, administrator or not, their
 * password), groups and their members, and the permissions groups hold on
 * device types and devices. Every change reloads the lab's permissions, so a
 * new grant lets waiting jobs run and a deactivated user's requests stop at
 * once (tokens and web sessions are checked against `is_active` on each use).
 */
import {
  addGroup,
  addGroupMembers,
  deleteGroup,
  type DevicePermission,
  grant,
  type PermissionTarget,
  removeGroupMembers,
  revoke,
  setUserGroups,
} from "../../storage/groups.ts";
import { addUser, setPassword, updateUser, type UserChange } from "../../storage/users.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";
import {
  type Changer,
  record,
  requireAdministrator,
  requireChangeDevice,
  requireChangeDeviceType,
} from "./authority.ts";

export async function addLabUser(
  lab: Lab,
  by: Changer,
  user: { username: string; email?: string; superuser?: boolean },
): Promise<void> {
  requireAdministrator(by, "add_user");
  await addUser(lab.db, user);
  await record(lab, by, { kind: "user", name: user.username }, user.superuser ? "added (administrator)" : "added");
  await lab.reloadAccess();
}

export async function updateLabUser(lab: Lab, by: Changer, username: string, change: UserChange): Promise<void> {
  requireAdministrator(by, "change_user");
  if (username === by.username && (change.active === false || change.superuser === false)) {
    throw new LabRequestError("an administrator cannot deactivate or demote themselves: ask another one", 409);
  }
  await updateUser(lab.db, username, change);
  const said = [
    change.active === undefined ? "" : change.active ? "activated" : "deactivated",
    change.superuser === undefined ? "" : change.superuser ? "made an administrator" : "no longer an administrator",
    change.email === undefined ? "" : "e-mail changed",
  ].filter(Boolean);
  if (said.length > 0) await record(lab, by, { kind: "user", name: username }, said.join("; "));
  await lab.reloadAccess();
}

/** Sets a user's web password: an administrator for anyone, a user for themselves. */
export async function setLabPassword(lab: Lab, by: Changer, username: string, password: string | null): Promise<void> {
  if (username !== by.username) requireAdministrator(by, "change_user");
  await setPassword(lab.db, username, password);
  await record(lab, by, { kind: "user", name: username }, password === null ? "password removed" : "password set");
}

export async function addLabGroup(lab: Lab, by: Changer, name: string, members: readonly string[] = []) {
  requireAdministrator(by, "add_group");
  await addGroup(lab.db, name, members);
  await record(lab, by, { kind: "group", name }, `added${members.length ? ` with ${members.join(", ")}` : ""}`);
  await lab.reloadAccess();
}

export async function deleteLabGroup(lab: Lab, by: Changer, name: string): Promise<void> {
  requireAdministrator(by, "delete_group");
  await deleteGroup(lab.db, name);
  await record(lab, by, { kind: "group", name }, "removed");
  await lab.reloadAccess();
}

export async function changeLabGroupMembers(
  lab: Lab,
  by: Changer,
  name: string,
  usernames: readonly string[],
  change: "add" | "remove",
): Promise<void> {
  requireAdministrator(by, "change_group");
  if (change === "add") await addGroupMembers(lab.db, name, usernames);
  else await removeGroupMembers(lab.db, name, usernames);
  await record(lab, by, { kind: "group", name }, `${change === "add" ? "added" : "removed"} ${usernames.join(", ")}`);
  await lab.reloadAccess();
}

/** LAVA's `system.set_user_groups`: the user (by e-mail, as LAVA, or name) is in exactly these groups. */
export async function setLabUserGroups(lab: Lab, by: Changer, user: string, groups: readonly string[]) {
  requireAdministrator(by, "change_user");
  const row = await lab.db.selectFrom("users").select("username").where((eb) =>
    eb.or([eb("email", "=", user), eb("username", "=", user)])
  ).orderBy("id").executeTakeFirst();
  if (!row || user === "") throw new LabRequestError("please use an existing user", 400);
  const skipped = await setUserGroups(lab.db, row.username, groups);
  const kept = groups.filter((g) => !skipped.includes(g));
  await record(lab, by, { kind: "user", name: row.username }, `groups set to ${kept.join(", ") || "none"}`);
  await lab.reloadAccess();
}

/** LAVA's permission names (`view_devicetype`, `submit_to_device`, ...) or Basalt's (`view`, `submit`, `change`). */
export function permissionOf(name: string, target: PermissionTarget): DevicePermission {
  const kind = "device" in target ? "device" : "devicetype";
  const short = name.replace(/^lava_scheduler_app\./, "");
  for (const permission of ["view", "submit", "change"] as const) {
    const lava = permission === "submit" ? `submit_to_${kind}` : `${permission}_${kind}`;
    if (short === permission || short === lava) return permission;
  }
  throw new LabRequestError(
    `unknown permission ${JSON.stringify(name)}: use view_${kind}, submit_to_${kind} or change_${kind}`,
    400,
  );
}

/**
 * Grants or revokes a group's permission on a device type or device; needs `change` on it, as LAVA's
 * `system.assign_perm_device_type` does.
 */
export async function changeLabPermission(
  lab: Lab,
  by: Changer,
  target: PermissionTarget,
  group: string,
  permission: DevicePermission,
  change: "grant" | "revoke",
): Promise<void> {
  if ("device" in target) requireChangeDevice(lab, by, target.device);
  else requireChangeDeviceType(lab, by, target.deviceType);
  if (change === "grant") await grant(lab.db, target, group, permission);
  else await revoke(lab.db, target, group, permission);
  const object = "device" in target
    ? { kind: "device", name: target.device }
    : { kind: "device-type", name: target.deviceType };
  await record(lab, by, object, `${permission} ${change === "grant" ? "granted to" : "revoked from"} group ${group}`);
  await lab.reloadAccess();
}
