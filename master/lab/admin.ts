/**
 * Changes admins make to a running lab through the APIs: devices, device types,
 * workers, dictionaries, templates and health checks. Each is written to the
 * database (or the lab directory) and then to the lab's memory, so the scheduler
 * sees it at once and a restart sees it too.
 */
import { DeviceHealth } from "../../actors/domain/states.ts";
import { addDeviceType } from "../storage/device_types.ts";
import { addDevice } from "../storage/devices.ts";
import { addWorker } from "../storage/workers.ts";
import { dictionaryProblems } from "../devices/dictionary.ts";
import type { DeviceInfo } from "./catalog.ts";
import type { Lab } from "./lab.ts";
import { LabRequestError } from "./request_error.ts";

export interface NewDeviceRequest {
  readonly hostname: string;
  readonly deviceType: string;
  readonly worker: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly health?: string;
  readonly dictionary?: string;
}

export async function addLabDevice(lab: Lab, request: NewDeviceRequest): Promise<DeviceInfo> {
  const type = lab.catalog.resolveType(request.deviceType);
  if (!type) throw new LabRequestError(`device type ${request.deviceType} does not exist`, 404);
  if (!lab.catalog.workers.has(request.worker)) {
    throw new LabRequestError(`worker ${request.worker} does not exist`, 404);
  }
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
    submitGroups: new Set(),
    storedHealth: row.health,
    lastHealthReportJob: null,
  };
  lab.deviceAdded(info);
  return info;
}

/** Stores a device's dictionary after checking it is a dictionary (it extends a template). */
export async function setDictionary(lab: Lab, hostname: string, text: string): Promise<void> {
  const info = lab.catalog.devices.get(hostname);
  if (!info) throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  const problems = dictionaryProblems(text);
  if (problems.length > 0) {
    throw new LabRequestError(`the dictionary is not valid: ${problems.map((p) => p.message).join("; ")}`, 400);
  }
  await lab.db.updateTable("devices").set({ dictionary: text }).where("hostname", "=", hostname).execute();
  lab.deviceAdded({ ...info, dictionary: text });
}

export async function updateDeviceTags(lab: Lab, hostname: string, tags: readonly string[]): Promise<void> {
  const info = lab.catalog.devices.get(hostname);
  if (!info) throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  const unique = [...new Set(tags)].sort();
  await lab.db.transaction().execute(async (trx) => {
    await trx.deleteFrom("device_tags").where("device_hostname", "=", hostname).execute();
    if (unique.length > 0) {
      await trx.insertInto("tags").values(unique.map((name) => ({ name }))).onConflict((oc) => oc.doNothing())
        .execute();
      await trx.insertInto("device_tags").values(unique.map((tag) => ({ device_hostname: hostname, tag }))).execute();
    }
  });
  lab.deviceAdded({ ...info, tags: unique });
}

export async function addLabWorker(lab: Lab, hostname: string, description = "", jobLimit = 0): Promise<void> {
  await addWorker(lab.db, { hostname, description, jobLimit });
  lab.catalog.workers.set(hostname, {
    hostname,
    description,
    jobLimit,
    storedHealth: 0,
    dispatcherConfig: "",
    env: "",
    envDut: "",
  });
  lab.workerAdded(hostname);
}

export async function updateWorkerConfig(
  lab: Lab,
  hostname: string,
  change: { description?: string; jobLimit?: number; dispatcherConfig?: string; envDut?: string; env?: string },
): Promise<void> {
  const info = lab.catalog.workers.get(hostname);
  if (!info) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
  await lab.db.updateTable("workers").set({
    ...(change.description !== undefined ? { description: change.description } : {}),
    ...(change.jobLimit !== undefined ? { job_limit: change.jobLimit } : {}),
    ...(change.dispatcherConfig !== undefined ? { dispatcher_config: change.dispatcherConfig } : {}),
    ...(change.envDut !== undefined ? { env_dut: change.envDut } : {}),
    ...(change.env !== undefined ? { env: change.env } : {}),
  }).where("hostname", "=", hostname).execute();
  lab.catalog.workers.set(hostname, {
    ...info,
    ...(change.description !== undefined ? { description: change.description } : {}),
    ...(change.jobLimit !== undefined ? { jobLimit: change.jobLimit } : {}),
    ...(change.dispatcherConfig !== undefined ? { dispatcherConfig: change.dispatcherConfig } : {}),
    ...(change.envDut !== undefined ? { envDut: change.envDut } : {}),
    ...(change.env !== undefined ? { env: change.env } : {}),
  });
  lab.workerAdded(hostname);
}

export async function addLabDeviceType(
  lab: Lab,
  request: { name: string; description?: string; healthFrequency?: number; healthDenominator?: "hours" | "jobs" },
): Promise<void> {
  const row = await addDeviceType(lab.db, { name: request.name, description: request.description });
  if (request.healthFrequency !== undefined || request.healthDenominator !== undefined) {
    await lab.db.updateTable("device_types").set({
      ...(request.healthFrequency !== undefined ? { health_frequency: request.healthFrequency } : {}),
      ...(request.healthDenominator !== undefined
        ? { health_denominator: request.healthDenominator === "jobs" ? 1 : 0 }
        : {}),
    }).where("name", "=", row.name).execute();
  }
  lab.catalog.deviceTypes.set(row.name, {
    name: row.name,
    description: row.description,
    display: row.display,
    healthFrequency: request.healthFrequency ?? row.health_frequency,
    healthDenominator: request.healthDenominator ?? (row.health_denominator === 1 ? "jobs" : "hours"),
    disableHealthCheck: row.disable_health_check,
  });
}
