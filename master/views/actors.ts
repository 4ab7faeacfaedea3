/**
 * The transitions the actors' journal recorded, as a caller may see them: a
 * job's only if the job is visible, a device's without the jobs the caller may
 * not see.
 */
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Lab } from "../lab/lab.ts";
import { type Access, assertDeviceVisible } from "./access.ts";
import { deviceTransitions } from "./devices.ts";

/** The kinds of actor whose history and live transitions are shown. */
export type ShownActorKind = "job" | "device" | "worker";

/**
 * An actor's last `last` transitions after sequence `after`, oldest first. The caller has checked that the actor
 * exists and, for a job, that it may see it; a device's are checked and redacted here.
 */
export async function actorTransitions(
  lab: Lab,
  kind: ShownActorKind,
  id: string,
  access: Access,
  options: { readonly after?: number; readonly last: number },
): Promise<TransitionRecord[]> {
  if (kind === "device") assertDeviceVisible(lab, id, access);
  const records = (await lab.host.options.journal.transitions(kind, id, options.after)).slice(-options.last);
  return kind === "device" ? await deviceTransitions(lab, id, access, records) : records;
}
