/**
 * The lab as LAVA's APIs show it: jobs, devices, workers and device types with
 * LAVA's field names and display strings, read from the database and the live
 * actors. XML-RPC (for lavacli) and the JSON API both answer from these, so the
 * two never disagree. Times are Dates: XML-RPC sends them as dateTime, JSON as
 * ISO strings.
 */
import { JobHealth, JobState, JobVisibility } from "../../actors/domain/states.ts";
import { readLogLines } from "../storage/job_logs.ts";
import type { Lab } from "./lab.ts";
import { LabRequestError } from "./lab.ts";

export interface JobView {
  id: number | string;
  description: string;
  device: string | null;
  device_type: string | null;
  health_check: boolean;
  pipeline: true;
  health: string;
  state: string;
  submitter: string;
  submit_time: Date;
  start_time: Date | null;
  end_time: Date | null;
  tags: string[];
  visibility: string;
  failure_comment: string | null;
  error_msg: string | null;
  error_type: string | null;
  priority: number;
  sub_id: string;
  worker: string | null;
  multinode_role: string | null;
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

function visibilityName(code: number): string {
  const name = JobVisibility.name(code);
  return name === "public" ? "Public" : name === "personal" ? "Personal" : "Group";
}

const JOB_COLUMNS = [
  "j.id",
  "j.sub_id",
  "j.description",
  "j.actual_device",
  "j.requested_device_type",
  "j.health_check",
  "j.health",
  "j.state",
  "j.submit_time",
  "j.start_time",
  "j.end_time",
  "j.visibility",
  "j.failure_comment",
  "j.error_msg",
  "j.error_type",
  "j.priority",
  "j.multinode_role",
  "u.username",
  "d.worker_hostname",
] as const;

function jobQuery(lab: Lab) {
  return lab.db.selectFrom("test_jobs as j")
    .leftJoin("users as u", "u.id", "j.submitter_id")
    .leftJoin("devices as d", "d.hostname", "j.actual_device")
    .select([...JOB_COLUMNS]);
}

type JobRow = Awaited<ReturnType<ReturnType<typeof jobQuery>["executeTakeFirstOrThrow"]>>;

function jobView(row: JobRow, tags: string[]): JobView {
  return {
    id: row.sub_id || row.id,
    description: row.description,
    device: row.actual_device,
    device_type: row.requested_device_type,
    health_check: row.health_check,
    pipeline: true,
    health: JobHealth.name(row.health),
    state: JobState.name(row.state),
    submitter: row.username ?? "",
    submit_time: new Date(row.submit_time),
    start_time: row.start_time ? new Date(row.start_time) : null,
    end_time: row.end_time ? new Date(row.end_time) : null,
    tags,
    visibility: visibilityName(row.visibility),
    failure_comment: row.failure_comment ?? (row.error_msg ? `${row.error_type}: ${row.error_msg}` : null),
    error_msg: row.error_msg,
    error_type: row.error_type,
    priority: row.priority,
    sub_id: row.sub_id,
    worker: row.worker_hostname,
    multinode_role: row.multinode_role,
  };
}

/** Who is asking: nobody, a user, or an administrator. */
export interface Viewer {
  readonly id: number;
  readonly is_superuser: boolean;
}

/**
 * LAVA's visibility: public jobs are everyone's; a personal job is its
 * submitter's; a group job its submitter's and its viewing groups' members'.
 * Administrators see every job. A job a caller may not see does not exist for them.
 */
export async function assertVisible(lab: Lab, id: number, viewer: Viewer | undefined): Promise<void> {
  const row = await lab.db.selectFrom("test_jobs").select(["visibility", "submitter_id"]).where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  if (row.visibility === JobVisibility.byName.public || viewer?.is_superuser || viewer?.id === row.submitter_id) return;
  if (viewer && row.visibility === JobVisibility.byName.group) {
    const shared = await lab.db.selectFrom("test_job_viewing_groups as v")
      .innerJoin("user_groups as g", "g.group_id", "v.group_id")
      .select("v.job_id").where("v.job_id", "=", id).where("g.user_id", "=", viewer.id).executeTakeFirst();
    if (shared) return;
  }
  throw new LabRequestError(`Job '${id}' was not found.`, 404);
}

export async function showJob(lab: Lab, id: number, viewer?: Viewer | "internal"): Promise<JobView> {
  if (viewer !== "internal") await assertVisible(lab, id, viewer);
  const row = await jobQuery(lab).where("j.id", "=", id).executeTakeFirst();
  if (!row) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  const tags = await lab.db.selectFrom("test_job_tags").select("tag").where("job_id", "=", id).execute();
  return jobView(row, tags.map((t) => t.tag));
}

export interface JobFilter {
  readonly state?: number;
  readonly health?: number;
  readonly start?: number;
  readonly limit?: number;
  readonly deviceType?: string;
}

export async function listJobs(lab: Lab, filter: JobFilter = {}, viewer?: Viewer): Promise<JobView[]> {
  let query = jobQuery(lab).orderBy("j.id", "desc");
  if (!viewer?.is_superuser) {
    query = query.where((eb) =>
      eb.or([
        eb("j.visibility", "=", JobVisibility.byName.public),
        ...(viewer
          ? [
            eb("j.submitter_id", "=", viewer.id),
            eb.exists(
              eb.selectFrom("test_job_viewing_groups as v").innerJoin("user_groups as g", "g.group_id", "v.group_id")
                .select("v.job_id").whereRef("v.job_id", "=", "j.id").where("g.user_id", "=", viewer.id),
            ),
          ]
          : []),
      ])
    );
  }
  if (filter.state !== undefined) query = query.where("j.state", "=", filter.state);
  if (filter.health !== undefined) query = query.where("j.health", "=", filter.health);
  if (filter.deviceType !== undefined) query = query.where("j.requested_device_type", "=", filter.deviceType);
  const rows = await query.offset(filter.start ?? 0).limit(Math.min(filter.limit ?? 25, 1000)).execute();
  if (rows.length === 0) return [];
  const tags = await lab.db.selectFrom("test_job_tags").select(["job_id", "tag"])
    .where("job_id", "in", rows.map((r) => r.id)).execute();
  const byJob = Map.groupBy(tags, (t) => t.job_id);
  return rows.map((r) => jobView(r, (byJob.get(r.id) ?? []).map((t) => t.tag)));
}

export async function jobDefinition(lab: Lab, id: number): Promise<string> {
  const row = await lab.db.selectFrom("test_jobs").select(["original_definition", "definition", "multinode_definition"])
    .where("id", "=", id).executeTakeFirst();
  if (!row) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  return row.multinode_definition || row.original_definition || row.definition;
}

/** Log records `[start, end)` as LAVA's YAML list, and whether the job has finished. */
export async function jobLogs(
  lab: Lab,
  id: number,
  start = 0,
  end?: number,
): Promise<{ finished: boolean; yaml: string }> {
  const job = await lab.db.selectFrom("test_jobs").select("state").where("id", "=", id).executeTakeFirst();
  if (!job) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  const records = await readLogLines(lab.db, id, { start: Math.max(0, start), end, limit: LOG_PAGE_LINES + 1 });
  // A page, not the whole log: a finished job's log can be millions of lines. lavacli asks again from where the
  // page ended while `finished` is false, so a cut page says the job has not finished yet.
  const more = records.length > LOG_PAGE_LINES;
  const text = records.slice(0, LOG_PAGE_LINES).map((r) =>
    `- ${JSON.stringify({ dt: new Date(r.dt).toISOString().replace("Z", "+00:00"), lvl: r.lvl, msg: r.msg })}`
  ).join("\n");
  return { finished: job.state === JobState.byName.Finished && !more, yaml: text ? `${text}\n` : "[]" };
}

/** The most log lines one `scheduler.jobs.logs` call returns. */
export const LOG_PAGE_LINES = 100_000;

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
}

export function showDevice(lab: Lab, hostname: string): DeviceView {
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
  };
}

export function listDevices(lab: Lab, all = false): DeviceView[] {
  return [...lab.catalog.devices.keys()].sort().map((h) => showDevice(lab, h))
    .filter((d) => all || d.health !== "Retired");
}

export interface WorkerView {
  hostname: string;
  description: string;
  state: string;
  health: string;
  devices: string[];
  last_ping: Date;
  job_limit: number;
  version: string;
}

export async function showWorker(lab: Lab, hostname: string): Promise<WorkerView> {
  const info = lab.catalog.workers.get(hostname);
  const status = lab.workerStatus(hostname);
  if (!info || !status) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
  const row = await lab.db.selectFrom("workers").select(["last_ping", "created_at"]).where("hostname", "=", hostname)
    .executeTakeFirst();
  return {
    hostname,
    description: info.description,
    state: status.state,
    health: status.health,
    devices: lab.catalog.devicesOf({ worker: hostname }).map((d) => d.hostname).sort(),
    last_ping: new Date(row?.last_ping ?? row?.created_at ?? 0),
    job_limit: info.jobLimit,
    version: status.version ?? "",
  };
}

export function listDeviceTypes(lab: Lab, all = false) {
  return [...lab.catalog.deviceTypes.values()].filter((t) => all || t.display).sort((a, b) =>
    a.name.localeCompare(b.name)
  )
    .map((t) => ({
      name: t.name,
      devices: lab.catalog.devicesOf({ deviceType: t.name }).length,
      installed: true,
      template: lab.labDir.template(t.name) !== undefined,
      description: t.description,
      health_frequency: t.healthFrequency,
      health_denominator: t.healthDenominator,
      health_disabled: t.disableHealthCheck,
      aliases: [...lab.catalog.aliases.entries()].filter(([, type]) => type === t.name).map(([alias]) => alias),
    }));
}

/** The job's queue position counts, for `scheduler.jobs.queue`. */
export async function queuedJobs(lab: Lab, deviceTypes: string[] | null, start = 0, limit = 25) {
  let query = lab.db.selectFrom("test_jobs as j").leftJoin("users as u", "u.id", "j.submitter_id")
    .select([
      "j.id",
      "j.sub_id",
      "j.description",
      "j.requested_device_type",
      "j.priority",
      "j.submit_time",
      "u.username",
    ])
    .where("j.state", "=", JobState.byName.Submitted)
    .orderBy("j.priority", "desc").orderBy("j.submit_time").orderBy("j.id");
  if (deviceTypes?.length) query = query.where("j.requested_device_type", "in", deviceTypes);
  const rows = await query.offset(start).limit(Math.min(limit, 100)).execute();
  return rows.map((r) => ({
    id: r.sub_id || r.id,
    description: r.description,
    requested_device_type: r.requested_device_type,
    priority: r.priority,
    submit_time: new Date(r.submit_time),
    submitter: r.username ?? "",
  }));
}
