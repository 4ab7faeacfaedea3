/**
 * What an admin's pages show: who may change an object, its record of changes,
 * the groups holding permissions on it, users and groups, and a device
 * dictionary rendered and validated before it is saved.
 */
import type { Lab } from "../lab/lab.ts";
import { DeviceConfigurationError } from "../lab/lab_dir.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { dictionaryProblems } from "../devices/dictionary.ts";
import { type AdminChange, type ChangedObject, changesOf } from "../storage/admin_changes.ts";
import { type DevicePermission, grantsOn, listGroups, type PermissionTarget } from "../storage/groups.ts";
import type { User } from "../storage/schema.ts";
import type { Access } from "./access.ts";

export type { AdminChange } from "../storage/admin_changes.ts";

/** Whether the caller may change the device (its own grants, its type's, or an administrator). */
export function mayChangeDevice(lab: Lab, access: Access, hostname: string): boolean {
  return lab.access.canChangeDevice(access.rights, hostname);
}

export function mayChangeDeviceType(lab: Lab, access: Access, name: string): boolean {
  return lab.access.canChangeDeviceType(access.rights, name);
}

/** An object's record of changes, newest first, for those who may change it. */
export async function changeRecord(lab: Lab, object: ChangedObject, mayChange: boolean): Promise<AdminChange[]> {
  return mayChange ? await changesOf(lab.db, object) : [];
}

/** The groups holding permissions on a device or device type. */
export async function permissionsOn(
  lab: Lab,
  target: PermissionTarget,
): Promise<{ group: string; permission: DevicePermission }[]> {
  return await grantsOn(lab.db, target);
}

export interface UserView {
  readonly username: string;
  readonly email: string;
  readonly superuser: boolean;
  readonly active: boolean;
  readonly hasPassword: boolean;
  readonly groups: string[];
  readonly lastLogin: Date | null;
}

/** Every user with their groups (administrators only). */
export async function usersWithGroups(lab: Lab, viewer: Pick<User, "is_superuser"> | undefined): Promise<UserView[]> {
  if (!viewer?.is_superuser) throw new LabRequestError("only administrators see the users", 403);
  const [users, groups] = await Promise.all([
    lab.db.selectFrom("users").selectAll().orderBy("username").execute(),
    listGroups(lab.db),
  ]);
  return users.map((u) => ({
    username: u.username,
    email: u.email,
    superuser: u.is_superuser,
    active: u.is_active,
    hasPassword: u.password_hash !== null,
    groups: groups.filter((g) => g.members.includes(u.username)).map((g) => g.name),
    lastLogin: u.last_login,
  }));
}

/** Every group with its members (administrators only). */
export async function groupsWithMembers(lab: Lab, viewer: Pick<User, "is_superuser"> | undefined) {
  if (!viewer?.is_superuser) throw new LabRequestError("only administrators see the groups", 403);
  return await listGroups(lab.db);
}

export type DictionaryPreview =
  | { readonly ok: true; readonly rendered: string }
  | { readonly ok: false; readonly problems: string[] };

/** A dictionary checked and rendered for a device (new or not) of `deviceType`, without saving anything. */
export function previewDictionary(lab: Lab, hostname: string, deviceType: string, text: string): DictionaryPreview {
  const problems = dictionaryProblems(text).map((p) => p.message);
  if (problems.length > 0) return { ok: false, problems };
  const type = lab.catalog.resolveType(deviceType);
  if (!type) return { ok: false, problems: [`device type ${deviceType} does not exist`] };
  try {
    return { ok: true, rendered: lab.labDir.render({ hostname, deviceType: type.name, dictionary: text }) };
  } catch (error) {
    if (error instanceof DeviceConfigurationError) return { ok: false, problems: [error.message] };
    throw error;
  }
}

/** What a device's form starts from: its stored settings and dictionary (for those who may change it). */
export async function deviceSettings(lab: Lab, access: Access, hostname: string) {
  if (!lab.catalog.devices.has(hostname) || !lab.access.canViewDevice(access.rights, hostname)) {
    throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  }
  if (!mayChangeDevice(lab, access, hostname)) {
    throw new LabRequestError(`you may not change device ${hostname}`, 403);
  }
  const row = await lab.db.selectFrom("devices").selectAll().where("hostname", "=", hostname).executeTakeFirstOrThrow();
  const info = lab.catalog.devices.get(hostname)!;
  return {
    hostname,
    device_type: row.device_type,
    worker: row.worker_hostname ?? "",
    description: row.description,
    tags: info.tags.join(", "),
    public: row.is_public,
    physical_owner: row.physical_owner ?? "",
    physical_group: row.physical_group ?? "",
    health: lab.deviceStatus(hostname)?.health ?? "Maintenance",
    dictionary: row.dictionary ?? lab.labDir.dictionaryFile(hostname) ?? "",
  };
}

/** The groups' names, for the permission forms of those who may change an object. */
export async function groupNames(lab: Lab): Promise<string[]> {
  return (await listGroups(lab.db)).map((g) => g.name);
}

/** One group's permission on a device type or device, as LAVA's REST API lists it. */
export interface GrantView {
  readonly id: number;
  readonly group: string;
  /** LAVA's codename: `view_devicetype`, `submit_to_device`, ... */
  readonly permission: string;
  readonly target: string;
}

/** Every grant on the device types (or devices) the caller may see, by id. */
export async function allGrants(lab: Lab, access: Access, kind: "devicetype" | "device"): Promise<GrantView[]> {
  const rows = kind === "device"
    ? await lab.db.selectFrom("device_group_permissions as p").innerJoin("groups as g", "g.id", "p.group_id")
      .select(["p.id", "g.name as group", "p.permission", "p.device_hostname as target"]).orderBy("p.id").execute()
    : await lab.db.selectFrom("device_type_group_permissions as p").innerJoin("groups as g", "g.id", "p.group_id")
      .select(["p.id", "g.name as group", "p.permission", "p.device_type as target"]).orderBy("p.id").execute();
  const visible = (target: string) =>
    kind === "device"
      ? access.rules.canViewDevice(access.rights, target)
      : access.rules.canViewDeviceType(access.rights, target);
  return rows.filter((r) => visible(r.target)).map((r) => ({
    id: Number(r.id),
    group: r.group,
    permission: r.permission === "submit" ? `submit_to_${kind}` : `${r.permission}_${kind}`,
    target: r.target,
  }));
}
