/** Admin changes to jobs: force-fail one that is stuck, and remove finished ones with everything kept about them. */
import { JobState } from "../../../actors/domain/states.ts";
import { purgeable, purgeJobs } from "../../storage/retention.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";
import { type Changer, record, requireAdministrator } from "./authority.ts";

/**
 * LAVA's `lava-server manage jobs fail`: the job ends Incomplete now (a MultiNode job's group follows as when a
 * member fails), its device goes to a health check, and its worker is told to stop it.
 */
export async function failLabJob(lab: Lab, by: Changer, id: number, reason = ""): Promise<void> {
  requireAdministrator(by, "change_testjob");
  const row = await lab.db.selectFrom("test_jobs").select("state").where("id", "=", id).executeTakeFirst();
  if (!row) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  if (row.state === JobState.byName.Finished || !lab.isActive(id)) {
    throw new LabRequestError(`job ${id} has already finished`, 409);
  }
  const message = `failed by ${by.username}${reason ? `: ${reason}` : ""}`;
  await record(lab, by, { kind: "job", name: String(id) }, message);
  lab.forceFail(id, message);
}

/**
 * Removes finished jobs and everything kept about them (LAVA's `jobs rm`); a MultiNode job goes with its whole
 * group or not at all. Returns the ids removed.
 */
export async function removeLabJobs(lab: Lab, by: Changer, ids: readonly number[]): Promise<number[]> {
  requireAdministrator(by, "delete_testjob");
  const removable = await purgeable(lab.db, { ids }, ids.length);
  const kept = ids.filter((id) => !removable.includes(id));
  if (kept.length > 0) {
    throw new LabRequestError(
      `job${kept.length > 1 ? "s" : ""} ${kept.join(", ")} cannot be removed: only finished jobs can, a MultiNode ` +
        `job with its whole group, and not a device's last health check`,
      409,
    );
  }
  await purgeJobs(lab.db, removable);
  for (const id of removable) await record(lab, by, { kind: "job", name: String(id) }, "removed");
  return removable;
}
