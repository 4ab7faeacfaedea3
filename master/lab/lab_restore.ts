/**
 * A master starting where the previous one stopped: job actors restored from
 * their journaled snapshots (with the facts their rows keep), the queue read
 * back from the jobs still Submitted, and MultiNode groups restored (or, for a
 * journal without them, rebuilt from their members' rows).
 */
import { type Capabilities, parseCapabilities } from "../../actors/definitions/methods.ts";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { parse as parseYaml } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { JobState } from "../../actors/domain/states.ts";
import type { GroupMember } from "../../actors/machines/multinode_group.ts";
import type { ActorHost } from "../../actors/process/host.ts";
import type { Database, TestJobsTable } from "../storage/schema.ts";
import { type ActiveJob, type ActorRegistry, isReservation } from "./registry.ts";
import type { SubmittedJob } from "./submission.ts";

type Tx = Transaction<Database>;

/** The columns of a job's row that what the master keeps of a job in memory comes from. */
const FACT_COLUMNS = [
  "id",
  "sub_id",
  "description",
  "requested_device_type",
  "priority",
  "submit_time",
  "submitter_id",
  "visibility",
  "health_check",
  "target_group",
] as const;

type FactRow = Pick<Selectable<TestJobsTable>, (typeof FACT_COLUMNS)[number]>;

function factsOf(row: FactRow) {
  return {
    id: row.id,
    displayId: row.sub_id || String(row.id),
    description: row.description,
    deviceType: row.requested_device_type ?? "",
    priority: row.priority,
    submitTime: new Date(row.submit_time).getTime(),
    submitter: row.submitter_id,
    visibility: row.visibility,
    healthCheck: row.health_check,
    group: row.target_group ?? undefined,
  };
}

/** Restores the job actors the previous master left running, with the facts their rows keep. */
export async function restoreJobs(db: Kysely<Database>, host: ActorHost<Tx>, registry: ActorRegistry): Promise<void> {
  const restored = host.restoredOfKind("job");
  if (restored.length === 0) return;
  const ids = restored.map((r) => Number(r.id));
  const rows = await db.selectFrom("test_jobs").select([...FACT_COLUMNS, "multinode_role", "required_methods"])
    .where("id", "in", ids).execute();
  const counts = await sql<{ job_id: number; n: number }>`
    SELECT job_id, count(*)::integer AS n FROM job_log_lines WHERE job_id = ANY(${ids}) GROUP BY job_id`
    .execute(db);
  const lines = new Map(counts.rows.map((c) => [c.job_id, c.n]));
  for (const row of rows) {
    const record = restored.find((r) => Number(r.id) === row.id)!;
    const active: ActiveJob = {
      ...factsOf(row),
      ...(isReservation(storedRequirements(row.required_methods).requires) ? { reservation: true } : {}),
      role: row.multinode_role ?? undefined,
      nextLine: lines.get(row.id) ?? 0,
    };
    registry.spawnJob(active, { snapshot: record.snapshot, sequence: record.sequence });
  }
}

/** The jobs still waiting for a device, as their rows say. */
export async function loadQueue(db: Kysely<Database>): Promise<SubmittedJob[]> {
  const rows = await db.selectFrom("test_jobs")
    .select([
      ...FACT_COLUMNS,
      "requested_device",
      "requested_worker",
      "queue_timeout_seconds",
      "required_methods",
      "multinode_role",
    ])
    .where("state", "=", JobState.byName.Submitted)
    .execute();
  // Secondary connections (no device type) keep their host role in their definitions: read for those alone.
  const connections = rows.filter((r) => r.target_group && !r.requested_device_type).map((r) => r.id);
  const hostRoles = new Map<number, string>();
  if (connections.length > 0) {
    const definitions = await db.selectFrom("test_jobs").select(["id", "definition"])
      .where("id", "in", connections).execute();
    for (const { id, definition } of definitions) {
      try {
        const parsed = parseYaml(definition);
        if (isMapping(parsed) && typeof parsed.host_role === "string") hostRoles.set(id, parsed.host_role);
      } catch { /* stored at submission, so valid YAML */ }
    }
  }
  const tags = await db.selectFrom("test_job_tags").innerJoin("test_jobs", "test_jobs.id", "test_job_tags.job_id")
    .select(["job_id", "tag"]).where("test_jobs.state", "=", JobState.byName.Submitted).execute();
  const tagsBy = Map.groupBy(tags, (t) => t.job_id);
  return rows.map((r) => ({
    ...factsOf(r),
    tags: r.health_check ? [] : (tagsBy.get(r.id) ?? []).map((t) => t.tag),
    requestedDevice: r.requested_device ?? undefined,
    requestedWorker: r.requested_worker ?? undefined,
    ...storedRequirements(r.required_methods),
    ...(r.multinode_role ? { role: r.multinode_role } : {}),
    ...(hostRoles.has(r.id) ? { hostRole: hostRoles.get(r.id) } : {}),
    ...(r.queue_timeout_seconds ? { queueTimeoutSeconds: r.queue_timeout_seconds } : {}),
  }));
}

/** What a queued job's row says it requires; nothing for a job stored before requirements were kept. */
function storedRequirements(text: string | null): { requires?: Capabilities } {
  if (!text) return {};
  try {
    const requires = parseCapabilities(JSON.parse(text));
    return requires ? { requires } : {};
  } catch {
    return {};
  }
}

/** Whether a sub-job's definition makes its role essential (its end other than Complete ends the group). */
export function isEssential(definition: Record<string, unknown> | unknown): boolean {
  const protocols = isMapping(definition) ? definition.protocols : undefined;
  const protocol = isMapping(protocols) ? protocols["lava-multinode"] : undefined;
  return isMapping(protocol) && protocol.essential === true;
}

/** Restores (or rebuilds from rows) the group actor of every MultiNode group with a member not finished. */
export async function restoreGroups(
  db: Kysely<Database>,
  host: ActorHost<Tx>,
  registry: ActorRegistry,
  groups: ReadonlySet<string>,
): Promise<void> {
  const missing: string[] = [];
  for (const group of groups) {
    const restore = host.restored("group", group);
    if (restore) {
      const context = (restore.snapshot as { context?: { members?: GroupMember[]; ended?: string[] } }).context;
      registry.spawnGroup(group, context?.members ?? [], context?.ended ?? [], restore);
    } else missing.push(group);
  }
  if (missing.length === 0) return;
  const rows = await db.selectFrom("test_jobs").select(["id", "target_group", "definition", "state"])
    .where("target_group", "in", missing).execute();
  for (const [group, members] of Map.groupBy(rows, (r) => r.target_group!)) {
    const actor = registry.spawnGroup(
      group,
      members.map((m) => ({ id: String(m.id), essential: isEssential(parseYaml(m.definition)) })),
      members.filter((m) => m.state === JobState.byName.Finished).map((m) => String(m.id)),
    );
    if (members.some((m) => m.state !== JobState.byName.Submitted && m.state !== JobState.byName.Finished)) {
      actor.send({ type: "placed" });
    }
  }
}
