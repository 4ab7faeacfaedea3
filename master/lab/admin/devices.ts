/**
 * Admin changes to devices: add one, change its worker, type, description,
 * visibility, physical owner and health, its tags and its dictionary. Each is
 * checked (authority.ts), stored, recorded and then applied to the running lab
 * (catalog, actors, scheduler, permissions), so it takes effect at once and a
 * restart sees it too.
 */
import { DeviceHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import { dictionaryProblems } from "../../devices/dictionary.ts";
import { addDevice, changeDeviceTag, type DeviceChange, updateDevice } from "../../storage/devices.ts";
import type { DeviceInfo } from "../catalog.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";
import { type Changer, record, requireAdministrator, requireChangeDevice } from "./authority.ts";

export interface NewDeviceRequest {
  readonly hostname: string;
  readonly deviceType: string;
  readonly worker: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly health?: string;
  readonly dictionary?: string;
}

export async function addLabDevice(lab: Lab, by: Changer, request: NewDeviceRequest): Promise<DeviceInfo> {
  requireAdministrator(by, "change_device");
  const type = lab.catalog.resolveType(request.deviceType);
  if (!type) throw new LabRequestError(`DeviceType '${request.deviceType}' was not found.`, 404);
  if (!lab.catalog.workers.has(request.worker)) {
    throw new LabRequestError(`Worker '${request.worker}' was not found.`, 404);
  }
  if (request.dictionary !== undefined) checkDictionary(request.dictionary);
  const health = request.health ? DeviceHealth.parse(request.health) : DeviceHealth.byName.Maintenance;
  const row = await addDevice(lab.db, {
    hostname: request.hostname,
    deviceType: type.name,
    worker: request.worker,
    description: request.description,
    tags: request.tags,
    dictionary: request.dictionary,
    health,
  });
  const info: DeviceInfo = {
    hostname: row.hostname,
    deviceType: row.device_type,
    worker: row.worker_hostname,
    description: row.description,
    tags: row.tags,
    isPublic: row.is_public,
    dictionary: row.dictionary,
    storedHealth: row.health,
    lastHealthReportJob: null,
    physicalOwner: row.physical_owner,
    physicalGroup: row.physical_group,
  };
  await lab.reloadAccess();
  lab.deviceAdded(info);
  await record(lab, by, { kind: "device", name: row.hostname }, `added (${row.device_type} on ${row.worker_hostname})`);
  return info;
}

export interface DeviceUpdate extends Omit<DeviceChange, "health"> {
  readonly health?: DeviceHealthName;
  /** Why the health changed, for the device's page. */
  readonly reason?: string;
}

/**
 * Changes a device. Its worker or type cannot change while it runs a job; a health change goes through the
 * device's actor (retiring it cancels its job, as in LAVA).
 */
export async function updateLabDevice(lab: Lab, by: Changer, hostname: string, change: DeviceUpdate): Promise<void> {
  requireChangeDevice(lab, by, hostname);
  const info = lab.catalog.devices.get(hostname)!;
  const type = change.deviceType === undefined ? undefined : lab.catalog.resolveType(change.deviceType);
  if (change.deviceType !== undefined && !type) {
    throw new LabRequestError(`Unable to find device-type '${change.deviceType}'`, 404);
  }
  if (change.worker !== undefined && !lab.catalog.workers.has(change.worker)) {
    throw new LabRequestError(`Unable to find worker '${change.worker}'`, 404);
  }
  const moves = (change.worker !== undefined && change.worker !== info.worker) ||
    (type !== undefined && type.name !== info.deviceType);
  const job = lab.deviceStatus(hostname)?.job;
  if (moves && job) {
    throw new LabRequestError(
      `device ${hostname} is running job ${job}: change its worker or type once the job has ended`,
      409,
    );
  }
  const { health, reason: _reason, ...columns } = change;
  const row = await updateDevice(lab.db, hostname, { ...columns, deviceType: type?.name });
  const said: string[] = [];
  if (change.worker !== undefined && change.worker !== info.worker) {
    said.push(`worker ${info.worker} → ${change.worker}`);
  }
  if (type && type.name !== info.deviceType) said.push(`type ${info.deviceType} → ${type.name}`);
  if (change.description !== undefined && change.description !== info.description) said.push("description changed");
  if (change.isPublic !== undefined && change.isPublic !== info.isPublic) {
    said.push(change.isPublic ? "made public" : "made private");
  }
  if (row.physical_owner !== info.physicalOwner) said.push(`physical owner ${row.physical_owner ?? "none"}`);
  if (row.physical_group !== info.physicalGroup) said.push(`physical group ${row.physical_group ?? "none"}`);
  const before = lab.deviceStatus(hostname)?.health;
  if (health !== undefined && health !== before) said.push(`health ${before} → ${health}`);
  if (said.length > 0) await record(lab, by, { kind: "device", name: hostname }, said.join("; "));
  if (change.isPublic !== undefined || type) await lab.reloadAccess();
  lab.deviceAdded({
    ...info,
    worker: row.worker_hostname,
    deviceType: row.device_type,
    description: row.description,
    isPublic: row.is_public,
    physicalOwner: row.physical_owner,
    physicalGroup: row.physical_group,
  });
  if (health !== undefined && health !== before) {
    lab.setDeviceHealth(hostname, health, change.reason ?? `set by ${by.username}`);
  }
}

/** Stores a device's dictionary after checking it is a dictionary (it extends a template). */
export async function setDictionary(lab: Lab, by: Changer, hostname: string, text: string): Promise<void> {
  requireChangeDevice(lab, by, hostname);
  checkDictionary(text);
  const info = lab.catalog.devices.get(hostname)!;
  await lab.db.updateTable("devices").set({ dictionary: text }).where("hostname", "=", hostname).execute();
  await record(lab, by, { kind: "device", name: hostname }, "dictionary changed");
  lab.deviceAdded({ ...info, dictionary: text });
}

function checkDictionary(text: string): void {
  const problems = dictionaryProblems(text);
  if (problems.length > 0) {
    throw new LabRequestError(`the dictionary is not valid: ${problems.map((p) => p.message).join("; ")}`, 400);
  }
}

/** Gives a device a tag or takes one away (LAVA's `scheduler.devices.tags.add/delete`). */
export async function changeLabDeviceTag(
  lab: Lab,
  by: Changer,
  hostname: string,
  tag: string,
  change: "add" | "remove",
): Promise<void> {
  requireAdministrator(by, change === "add" ? "add_tag" : "delete_tag");
  const info = lab.catalog.devices.get(hostname);
  if (!info) throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  const tags = await changeDeviceTag(lab.db, hostname, tag, change);
  await record(lab, by, { kind: "device", name: hostname }, `tag ${tag} ${change === "add" ? "added" : "removed"}`);
  lab.deviceAdded({ ...lab.catalog.devices.get(hostname)!, tags });
}
