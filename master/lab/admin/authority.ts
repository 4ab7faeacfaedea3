/**
 * Who may make an admin change, checked where the change is made (every API,
 * the web UI and the CLI come through here), and the record of each change
 * made: who, when, to what, and what.
 */
import { type ChangedObject, recordChange } from "../../storage/admin_changes.ts";
import type { User } from "../../storage/schema.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";

/** The user making a change. */
export type Changer = Pick<User, "id" | "username" | "is_superuser">;

/**
 * Refuses a change that needs one of LAVA's model-wide permissions (`add_worker`, `add_tag`, ...), which Basalt
 * gives administrators only, with LAVA's message.
 */
export function requireAdministrator(by: Changer, permission: string): void {
  if (!by.is_superuser) {
    throw new LabRequestError(`User '${by.username}' is missing permission lava_scheduler_app.${permission} .`, 403);
  }
}

/** Refuses unless the user holds `change` on the device (or on its type, as LAVA decides). */
export function requireChangeDevice(lab: Lab, by: Changer, hostname: string): void {
  if (!lab.catalog.devices.has(hostname)) throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  if (!lab.access.canChangeDevice(lab.access.rightsOf(by), hostname)) {
    throw new LabRequestError(`User '${by.username}' needs admin permission on device ${hostname}.`, 403);
  }
}

/** Refuses unless the user holds `change` on the device type. */
export function requireChangeDeviceType(lab: Lab, by: Changer, name: string): void {
  if (!lab.catalog.deviceTypes.has(name)) throw new LabRequestError(`Device-type '${name}' was not found.`, 404);
  if (!lab.access.canChangeDeviceType(lab.access.rightsOf(by), name)) {
    throw new LabRequestError(`No 'admin' permissions for device-type '${name}'.`, 403);
  }
}

/** Keeps the change in the object's record. */
export async function record(lab: Lab, by: Changer, object: ChangedObject, summary: string): Promise<void> {
  await recordChange(lab.db, by.username, object, summary);
}
