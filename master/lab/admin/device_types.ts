/** Admin changes to device types: add, change (health checks, description, retention) and aliases. */
import {
  addDeviceType,
  addDeviceTypeAlias,
  deleteDeviceTypeAlias,
  type DeviceTypeChange,
  updateDeviceType,
} from "../../storage/device_types.ts";
import type { DeviceType } from "../../storage/schema.ts";
import type { DeviceTypeInfo } from "../catalog.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";
import { type Changer, record, requireAdministrator, requireChangeDeviceType } from "./authority.ts";

function infoOf(row: DeviceType): DeviceTypeInfo {
  return {
    name: row.name,
    description: row.description,
    display: row.display,
    healthFrequency: row.health_frequency,
    healthDenominator: row.health_denominator === 1 ? "jobs" : "hours",
    disableHealthCheck: row.disable_health_check,
    retentionDays: row.retention_days,
  };
}

/** A device type's settings as the change record names them. */
const SETTING_NAMES = {
  description: "description",
  display: "shown in lists",
  healthFrequency: "health-check frequency",
  healthDenominator: "health checks counted in",
  disableHealthCheck: "health checks disabled",
  retentionDays: "days finished jobs are kept",
} as const satisfies Partial<Record<keyof DeviceTypeInfo, string>>;

export async function addLabDeviceType(
  lab: Lab,
  by: Changer,
  request: { name: string } & DeviceTypeChange,
): Promise<void> {
  requireAdministrator(by, "change_devicetype");
  const { name, ...change } = request;
  await addDeviceType(lab.db, { name, description: change.description });
  const row = await updateDeviceType(lab.db, name, change);
  await record(lab, by, { kind: "device-type", name }, "added");
  lab.catalog.deviceTypes.set(row.name, infoOf(row));
  await lab.reloadAccess();
}

/** Changes a device type; the health-check schedule follows at once. */
export async function updateLabDeviceType(
  lab: Lab,
  by: Changer,
  name: string,
  change: DeviceTypeChange,
): Promise<void> {
  requireChangeDeviceType(lab, by, name);
  const before = lab.catalog.deviceTypes.get(name)!;
  const row = await updateDeviceType(lab.db, name, change);
  const after = infoOf(row);
  const said = (Object.keys(SETTING_NAMES) as (keyof typeof SETTING_NAMES)[])
    .filter((key) => before[key] !== after[key])
    .map((key) =>
      key === "description"
        ? "description changed"
        : `${SETTING_NAMES[key]} ${before[key] ?? "default"} → ${after[key] ?? "default"}`
    );
  if (said.length > 0) await record(lab, by, { kind: "device-type", name }, said.join("; "));
  lab.deviceTypeChanged(after);
}

export async function addLabAlias(lab: Lab, by: Changer, alias: string, deviceType: string): Promise<void> {
  requireAdministrator(by, "add_alias");
  if (!lab.access.canViewDeviceType(lab.access.rightsOf(by), deviceType) || !lab.catalog.deviceTypes.has(deviceType)) {
    throw new LabRequestError(`Device-type '${deviceType}' was not found.`, 404);
  }
  await addDeviceTypeAlias(lab.db, alias, deviceType);
  await record(lab, by, { kind: "device-type", name: deviceType }, `alias ${alias} added`);
  lab.catalog.aliases.set(alias, deviceType);
}

/** Removes an alias; `deviceType`, when given, must be the type it names. */
export async function deleteLabAlias(lab: Lab, by: Changer, alias: string, deviceType?: string): Promise<void> {
  requireAdministrator(by, "delete_alias");
  const target = lab.catalog.aliases.get(alias);
  if (target === undefined || (deviceType !== undefined && target !== deviceType)) {
    throw new LabRequestError(`Alias '${alias}' was not found.`, 404);
  }
  await deleteDeviceTypeAlias(lab.db, alias, target);
  await record(lab, by, { kind: "device-type", name: target }, `alias ${alias} removed`);
  lab.catalog.aliases.delete(alias);
}
