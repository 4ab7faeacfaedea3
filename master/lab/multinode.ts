/**
 * Splitting a MultiNode job into its sub-jobs, as LAVA does at submission: one
 * definition per device (a role of count 3 gives three), each with the job's
 * shared keys, its role's device type, context, tags and constraints at top
 * level, only the actions for its role, and a `lava-multinode` protocol block
 * naming its group, role and the group's size.
 */
import { isMapping } from "../../actors/definitions/schema.ts";

type Block = Record<string, unknown>;

/** Top-level keys every sub-job keeps. */
const SHARED = [
  "job_name",
  "timeouts",
  "priority",
  "visibility",
  "notify",
  "metadata",
  "reboot_to_fastboot",
  "secrets",
];
/** Role keys that become top-level keys of the sub-job. */
const TO_TOP_LEVEL = ["device_type", "connection", "host_role", "context", "device", "worker"];

export interface SubJob {
  readonly role: string;
  /** Position in the group, from 0: the `<id>.<n>` suffix. */
  readonly index: number;
  readonly definition: Block;
  readonly tags: readonly string[];
}

export function isMultinode(job: Block): boolean {
  return isMapping(job.protocols) && isMapping((job.protocols as Block)["lava-multinode"]);
}

/** How many sub-jobs (devices) a validated MultiNode job asks for: the sum of its roles' counts. */
export function multinodeGroupSize(job: Block): number {
  const roles = (job.protocols as Block)["lava-multinode"] as { roles: Record<string, Block> };
  return Object.values(roles.roles).reduce((n, r) => n + Number(r.count ?? 0), 0);
}

/** The sub-jobs of a validated MultiNode job, in role order. `group` is the target_group. */
export function splitMultinode(job: Block, group: string): SubJob[] {
  const protocols = job.protocols as Block;
  const multinode = protocols["lava-multinode"] as Block;
  const roles = multinode.roles as Record<string, Block>;
  const groupSize = multinodeGroupSize(job);
  const subJobs: SubJob[] = [];
  for (const [role, spec] of Object.entries(roles)) {
    for (let copy = 0; copy < Number(spec.count ?? 0); copy++) {
      const definition: Block = {};
      for (const key of SHARED) if (key in job) definition[key] = structuredClone(job[key]);
      for (const key of TO_TOP_LEVEL) if (key in spec) definition[key] = structuredClone(spec[key]);
      const protocol: Block = { target_group: group, role, group_size: groupSize, sub_id: subJobs.length };
      for (const [key, value] of Object.entries(spec)) {
        if (!TO_TOP_LEVEL.includes(key) && key !== "count") protocol[key] = structuredClone(value);
      }
      if (multinode.timeout !== undefined) protocol.timeout = structuredClone(multinode.timeout);
      definition.protocols = { ...structuredClone(protocols), "lava-multinode": protocol };
      definition.actions = (job.actions as Block[]).flatMap((action) => {
        const [kind, body] = Object.entries(action)[0] ?? [];
        if (!kind || !isMapping(body)) return [];
        const wanted = Array.isArray(body.role) ? body.role.map(String) : body.role ? [String(body.role)] : [];
        if (!wanted.includes(role)) return [];
        return [{ [kind]: { ...structuredClone(body), role: [role] } }];
      });
      subJobs.push({
        role,
        index: subJobs.length,
        definition,
        tags: Array.isArray(spec.tags) ? spec.tags.map(String) : [],
      });
    }
  }
  return subJobs;
}
