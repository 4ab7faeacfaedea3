/**
 * Splitting a MultiNode job into its sub-jobs, as LAVA does at submission: one
 * definition per device (a role of count 3 gives three), each with the job's
 * shared keys, its role's device type, context, tags and constraints at top
 * level, only the actions for its role, and a `lava-multinode` protocol block
 * naming its group, role and the group's size; and what LAVA's secondary
 * connections (roles without a device) must be before a job is split.
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

type Roles = Record<string, Block>;
const rolesOf = (job: Block): Roles => ((job.protocols as Block)["lava-multinode"] as { roles: Roles }).roles;

/** How many sub-jobs a validated MultiNode job asks for: the sum of its roles' counts. */
export function multinodeGroupSize(job: Block): number {
  return Object.values(rolesOf(job)).reduce((n, r) => n + Number(r.count ?? 0), 0);
}

/** The most secondary connections (SSH guests) one MultiNode job may have. */
const MAX_CONNECTIONS = 64;

/** How many devices a MultiNode job needs: its roles' counts, secondary connections (which take none) aside. */
export function multinodeDeviceCount(job: Block): number {
  return Object.values(rolesOf(job)).filter((r) => !("connection" in r)).reduce((n, r) => n + Number(r.count ?? 0), 0);
}

/**
 * Secondary connections (LAVA's `connection: ssh` roles): each connects over SSH to the one device of its
 * `host_role`, so that role must be one with a device type and a count of 1. What is wrong, or undefined.
 */
export function connectionProblem(job: Block): string | undefined {
  const roles = rolesOf(job);
  const connections = Object.entries(roles).filter(([, role]) => "connection" in role);
  const count = connections.reduce((n, [, role]) => n + Number(role.count ?? 0), 0);
  // Guests take no device, so the lab's size does not bound them: this does, before the job is split.
  if (count > MAX_CONNECTIONS) {
    return `the MultiNode job asks for ${count} secondary connections; at most ${MAX_CONNECTIONS}`;
  }
  // A guest runs with its host's device configuration: it may only log in and test, never deploy to or boot the
  // device its host role's job owns.
  const guests = new Set(connections.map(([name]) => name));
  for (const [index, entry] of (Array.isArray(job.actions) ? job.actions : []).entries()) {
    if (!isMapping(entry)) continue;
    for (const [kind, body] of Object.entries(entry)) {
      const bodyRoles = isMapping(body) && Array.isArray(body.role) ? body.role.map(String) : [];
      const guest = bodyRoles.find((r) => guests.has(r));
      if (!guest || !isMapping(body)) continue;
      const allowed = kind === "test" || (kind === "deploy" && body.to === "ssh") ||
        (kind === "boot" && body.method === "ssh");
      if (!allowed) {
        return `actions.${index}.${kind}: role ${guest} is a secondary connection; it may only deploy to ssh, ` +
          `boot with ssh and test`;
      }
    }
  }
  for (const [name, role] of Object.entries(roles)) {
    if (!("connection" in role)) continue;
    if (role.connection !== "ssh") {
      return `role ${name}: connection ${JSON.stringify(role.connection)}: only ssh is supported`;
    }
    if ("device_type" in role) {
      return `role ${name}: a secondary connection has no device_type (it uses its host role's)`;
    }
    const host = roles[String(role.host_role)];
    if (!host || "connection" in host || !host.device_type) {
      return `role ${name}: host_role ${JSON.stringify(role.host_role)} is not a role with a device`;
    }
    if (Number(host.count) !== 1) {
      return `role ${name}: its host role ${String(role.host_role)} must have a count of 1`;
    }
  }
  return undefined;
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
