/** Admin changes to tags: add one (with its description) and remove one from the lab and every device. */
import { addTag, deleteTag } from "../../storage/tags.ts";
import type { Lab } from "../lab.ts";
import { type Changer, record, requireAdministrator } from "./authority.ts";

export async function addLabTag(lab: Lab, by: Changer, name: string, description = ""): Promise<void> {
  requireAdministrator(by, "add_tag");
  await addTag(lab.db, name, description);
  await record(lab, by, { kind: "tag", name }, "added");
}

/** Removes the tag; devices that had it lose it at once, so jobs asking for it wait for a device that has it. */
export async function deleteLabTag(lab: Lab, by: Changer, name: string): Promise<void> {
  requireAdministrator(by, "delete_tag");
  await deleteTag(lab.db, name);
  await record(lab, by, { kind: "tag", name }, "removed");
  for (const device of lab.catalog.devices.values()) {
    if (device.tags.includes(name)) lab.deviceAdded({ ...device, tags: device.tags.filter((t) => t !== name) });
  }
}
