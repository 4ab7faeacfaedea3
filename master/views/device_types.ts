/** Device types as LAVA's APIs show them, and as a device type's page needs it: its health check and template. */
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { type Access, assertDeviceTypeVisible } from "./access.ts";
import { visibleDevices } from "./devices.ts";

export function listDeviceTypes(lab: Lab, all: boolean, access: Access) {
  return [...lab.catalog.deviceTypes.values()]
    .filter((t) => (all || t.display) && access.rules.canViewDeviceType(access.rights, t.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({
      name: t.name,
      devices: visibleDevices(lab, access, { deviceType: t.name }).length,
      installed: true,
      template: lab.labDir.template(t.name) !== undefined,
      description: t.description,
      health_frequency: t.healthFrequency,
      health_denominator: t.healthDenominator,
      health_disabled: t.disableHealthCheck,
      aliases: [...lab.catalog.aliases.entries()].filter(([, type]) => type === t.name).map(([alias]) => alias),
    }));
}

export type DeviceTypeView = ReturnType<typeof listDeviceTypes>[number];

/** A device type with its health-check job and its template (undefined where it has none). */
export function showDeviceType(
  lab: Lab,
  name: string,
  access: Access,
): { type: DeviceTypeView; healthCheck: string | undefined; template: string | undefined } {
  assertDeviceTypeVisible(lab, name, access);
  const type = listDeviceTypes(lab, true, access).find((t) => t.name === name);
  if (!type) throw new LabRequestError(`Device type '${name}' was not found.`, 404);
  return { type, healthCheck: lab.labDir.healthCheck(name), template: lab.labDir.template(name) };
}
