/**
 * Who may see what, for one request: the lab's visibility rules read once and
 * the caller's standing under them, and the checks every view starts with — a
 * job or device the caller may not see does not exist for them (404, never
 * 403, so that its existence does not leak).
 */
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { type AccessRules, loadJobFacts, type Rights, rulesFor, type Viewer } from "../lab/visibility.ts";

export type { Viewer } from "../lab/visibility.ts";

/** The rules one request is answered with, and the viewer's standing under them. */
export interface Access {
  readonly rules: AccessRules;
  readonly rights: Rights;
}

/** Reads the rules for `viewer` (nobody, a user or an administrator): one request's worth. */
export async function accessFor(lab: Lab, viewer: Viewer | undefined): Promise<Access> {
  const [rules, rights] = await rulesFor(lab.db, viewer);
  return { rules, rights };
}

/** Accepts `12`, `"12"` and a MultiNode sub-id `"12.1"`; the job's own id. */
export async function resolveJobId(lab: Lab, given: unknown): Promise<number> {
  const text = String(given ?? "").trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  if (/^\d{1,9}\.\d{1,6}$/.test(text)) {
    const row = await lab.db.selectFrom("test_jobs").select("id").where("sub_id", "=", text).executeTakeFirst();
    if (row) return row.id;
  }
  throw new LabRequestError(`Job '${text}' was not found.`, 404);
}

/** A job a caller may not see does not exist for them (see visibility.ts for who sees what). */
export async function assertVisible(lab: Lab, id: number, viewer: Viewer | Access | undefined): Promise<void> {
  const access = viewer && "rules" in viewer ? viewer : await accessFor(lab, viewer);
  const facts = (await loadJobFacts(lab.db, [id])).get(id);
  if (!facts || !access.rules.canViewJob(access.rights, facts)) {
    throw new LabRequestError(`Job '${id}' was not found.`, 404);
  }
}

/** Which of `ids` the caller may see. */
export async function visibleJobIds(lab: Lab, access: Access, ids: readonly number[]): Promise<Set<number>> {
  if (access.rights.superuser || ids.length === 0) return new Set(ids);
  const facts = await loadJobFacts(lab.db, ids);
  return new Set(ids.filter((id) => access.rules.canViewJob(access.rights, facts.get(id))));
}

/** A device the caller may not see does not exist for them. */
export function assertDeviceVisible(lab: Lab, hostname: string, access: Access): void {
  if (!lab.catalog.devices.has(hostname) || !access.rules.canViewDevice(access.rights, hostname)) {
    throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  }
}

/** A device type the caller may not see does not exist for them. */
export function assertDeviceTypeVisible(lab: Lab, name: string, access: Access): void {
  if (!lab.catalog.deviceTypes.has(name) || !access.rules.canViewDeviceType(access.rights, name)) {
    throw new LabRequestError(`Device-type '${name}' was not found.`, 404);
  }
}
