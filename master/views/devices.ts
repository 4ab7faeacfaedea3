/**
 * Devices as LAVA's APIs show them, read from the catalog and the live device
 * actors, and as pages need them: a device's health history and configuration.
 * A job the caller may not see is never named: its device only says it is busy.
 */
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { DeviceConfigurationError } from "../lab/lab_dir.ts";
import { redactJob } from "../lab/visibility.ts";
import { type Access, assertDeviceVisible, visibleJobIds } from "./access.ts";

export interface DeviceView {
  hostname: string;
  type: string;
  device_type: string;
  health: string;
  state: string;
  current_job: number | null;
  pipeline: true;
  worker: string | null;
  description: string | null;
  tags: string[];
  has_device_dict: boolean;
  health_job: boolean;
  health_reason: string | null;
  /** Who looks after the board (Basalt's; LAVA 2023.01 dropped its physical owner from the API). */
  physical_owner: string | null;
  physical_group: string | null;
}

/** A device as the caller may see it: a job it may not see is not named, the device's state says it is busy. */
export async function showDevice(lab: Lab, hostname: string, access: Access): Promise<DeviceView> {
  assertDeviceVisible(lab, hostname, access);
  const [view] = await withVisibleJobs(lab, access, [deviceView(lab, hostname)]);
  return view;
}

export async function listDevices(lab: Lab, all: boolean, access: Access): Promise<DeviceView[]> {
  const views = [...lab.catalog.devices.keys()].sort()
    .filter((h) => access.rules.canViewDevice(access.rights, h))
    .map((h) => deviceView(lab, h))
    .filter((d) => all || d.health !== "Retired");
  return await withVisibleJobs(lab, access, views);
}

async function withVisibleJobs(lab: Lab, access: Access, views: DeviceView[]): Promise<DeviceView[]> {
  const visible = await visibleJobIds(lab, access, views.flatMap((d) => d.current_job === null ? [] : [d.current_job]));
  return views.map((d) => d.current_job === null || visible.has(d.current_job) ? d : { ...d, current_job: null });
}

function deviceView(lab: Lab, hostname: string): DeviceView {
  const info = lab.catalog.devices.get(hostname);
  const status = lab.deviceStatus(hostname);
  if (!info || !status) throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  const hasDict = info.dictionary !== null || lab.labDir.dictionaryFile(hostname) !== undefined;
  return {
    hostname,
    type: info.deviceType,
    device_type: info.deviceType,
    health: status.health,
    state: status.state,
    current_job: status.job ? Number(status.job) : null,
    pipeline: true,
    worker: info.worker,
    description: info.description || null,
    tags: [...info.tags],
    has_device_dict: hasDict,
    health_job: lab.labDir.healthCheck(info.deviceType, info.dictionary ?? lab.labDir.dictionaryFile(hostname)) !==
      undefined,
    health_reason: status.reason ?? null,
    physical_owner: info.physicalOwner,
    physical_group: info.physicalGroup,
  };
}

/** Devices of a type or worker that the caller may see. */
export function visibleDevices(lab: Lab, access: Access, filter: { deviceType?: string; worker?: string }): string[] {
  return lab.catalog.devicesOf(filter).map((d) => d.hostname).filter((h) =>
    access.rules.canViewDevice(access.rights, h)
  ).sort();
}

/** The health of each device of a type or worker that the caller may see, for lists of them. */
export function visibleDeviceHealths(
  lab: Lab,
  access: Access,
  filter: { deviceType?: string; worker?: string },
): { hostname: string; health: string | undefined }[] {
  return visibleDevices(lab, access, filter).map((hostname) => ({
    hostname,
    health: lab.deviceStatus(hostname)?.health,
  }));
}

/**
 * A device's recorded transitions as the caller may see them: the device must be visible, and a job the caller
 * may not see is not named in them.
 */
export async function deviceTransitions(
  lab: Lab,
  hostname: string,
  access: Access,
  records: readonly TransitionRecord[],
): Promise<TransitionRecord[]> {
  assertDeviceVisible(lab, hostname, access);
  const ids = records.flatMap((r) => {
    const job = Number((r.payload as { job?: unknown } | null)?.job);
    return Number.isInteger(job) ? [job] : [];
  });
  const visible = await visibleJobIds(lab, access, [...new Set(ids)]);
  return records.map((r) => redactJob(r, (id) => visible.has(id)));
}

/** A device's last `last` health changes, newest first. */
export async function deviceHealthHistory(
  lab: Lab,
  hostname: string,
  access: Access,
  last = 50,
): Promise<{ at: Date; health: string | undefined; reason: string | undefined }[]> {
  assertDeviceVisible(lab, hostname, access);
  return (await lab.host.options.journal.transitions("device", hostname))
    .filter((t) => t.eventType === "health").slice(-last).reverse().map((t) => {
      const payload = t.payload as { health?: string; reason?: string };
      return { at: t.at, health: payload.health, reason: payload.reason };
    });
}

/** A device's dictionary: the one stored with it, else its file in the lab directory; undefined when it has none. */
export function deviceDictionary(lab: Lab, hostname: string): string | undefined {
  const info = lab.catalog.devices.get(hostname);
  return info ? info.dictionary ?? lab.labDir.dictionaryFile(hostname) : undefined;
}

/** A device's dictionary and its configuration as a job without context gets it (or why it does not render). */
export function deviceConfiguration(
  lab: Lab,
  hostname: string,
  access: Access,
): { dictionary: string | undefined; rendered: string } {
  assertDeviceVisible(lab, hostname, access);
  const info = lab.catalog.devices.get(hostname)!;
  const dictionary = deviceDictionary(lab, hostname);
  try {
    return { dictionary, rendered: lab.labDir.render(info) };
  } catch (error) {
    if (!(error instanceof DeviceConfigurationError)) throw error;
    return { dictionary, rendered: `cannot render: ${error.message}` };
  }
}

/** The lab's tags, by name. */
export async function listTags(lab: Lab): Promise<{ name: string; description: string }[]> {
  return (await lab.db.selectFrom("tags").selectAll().orderBy("name").execute()).map((t) => ({
    name: t.name,
    description: t.description,
  }));
}
