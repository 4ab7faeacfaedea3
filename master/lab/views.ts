/**
 * The lab as LAVA's APIs show it: jobs, devices, workers and device types with
 * LAVA's field names and display strings, read from the database and the live
 * actors. XML-RPC (for lavacli) and the JSON API both answer from these, so the
 * two never disagree. Times are Dates: XML-RPC sends them as dateTime, JSON as
 * ISO strings.
 */
import { JobHealth, JobState, JobVisibility } from "../../actors/domain/states.ts";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import { readLogLines } from "../storage/job_logs.ts";
import type { Lab } from "./lab.ts";
import { LabRequestError } from "./lab.ts";
import type { SubmittedJob } from "./submission.ts";
import {
  type AccessRules,
  loadJobFacts,
  maskSecrets,
  redactJob,
  type Rights,
  rulesFor,
  secretNames,
  type Viewer,
} from "./visibility.ts";

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

export type { Viewer } from "./visibility.ts";

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

/** A job a caller may not see does not exist for them (see visibility.ts for who sees what). */
export async function assertVisible(lab: Lab, id: number, viewer: Viewer | Access | undefined): Promise<void> {
  const access = viewer && "rules" in viewer ? viewer : await accessFor(lab, viewer);
  const facts = (await loadJobFacts(lab.db, [id])).get(id);
  if (!facts || !access.rules.canViewJob(access.rights, facts)) {
    throw new LabRequestError(`Job '${id}' was not found.`, 404);
  }
}

/** Which of `ids` the caller may see. */
async function visibleJobIds(lab: Lab, access: Access, ids: readonly number[]): Promise<Set<number>> {
  if (access.rights.superuser || ids.length === 0) return new Set(ids);
  const facts = await loadJobFacts(lab.db, ids);
  return new Set(ids.filter((id) => access.rules.canViewJob(access.rights, facts.get(id))));
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
  /** Jobs that ran, or run, on this device. */
  readonly device?: string;
}

export async function listJobs(lab: Lab, filter: JobFilter = {}, viewer?: Viewer): Promise<JobView[]> {
  const { rules, rights } = await accessFor(lab, viewer);
  let query = jobQuery(lab).orderBy("j.id", "desc");
  if (!rights.superuser) query = query.where(rules.jobCondition(rights));
  if (filter.state !== undefined) query = query.where("j.state", "=", filter.state);
  if (filter.health !== undefined) query = query.where("j.health", "=", filter.health);
  if (filter.deviceType !== undefined) query = query.where("j.requested_device_type", "=", filter.deviceType);
  if (filter.device !== undefined) query = query.where("j.actual_device", "=", filter.device);
  const rows = await query.offset(filter.start ?? 0).limit(Math.min(filter.limit ?? 25, 1000)).execute();
  if (rows.length === 0) return [];
  const tags = await lab.db.selectFrom("test_job_tags").select(["job_id", "tag"])
    .where("job_id", "in", rows.map((r) => r.id)).execute();
  const byJob = Map.groupBy(tags, (t) => t.job_id);
  return rows.map((r) => jobView(r, (byJob.get(r.id) ?? []).map((t) => t.tag)));
}

/**
 * A job's definition as `viewer` may read it: whole for its submitter and administrators; with its secrets'
 * values masked for anyone else who may see the job (a member of its group, or anyone for a public job).
 */
export async function definitionFor(lab: Lab, id: number, viewer: Viewer | undefined): Promise<string> {
  await assertVisible(lab, id, viewer);
  const text = await jobDefinition(lab, id);
  if (viewer?.is_superuser || await submittedBy(lab, id, viewer)) return text;
  return maskSecrets(text);
}

async function submittedBy(lab: Lab, id: number, viewer: Viewer | undefined): Promise<boolean> {
  if (!viewer) return false;
  const row = await lab.db.selectFrom("test_jobs").select("submitter_id").where("id", "=", id).executeTakeFirst();
  return row?.submitter_id === viewer.id;
}

/**
 * Submits a job's definition again as `user`: the one path the web UI, XML-RPC and the JSON API share. The job
 * must be one the user may see; one with secrets only its submitter or an administrator may resubmit, as the copy
 * would otherwise carry someone else's secrets (or, masked, run with none).
 */
export async function resubmitJob(
  lab: Lab,
  given: unknown,
  user: Viewer & { readonly username: string },
): Promise<SubmittedJob[]> {
  const id = await resolveJobId(lab, given);
  await assertVisible(lab, id, user);
  const text = await jobDefinition(lab, id);
  if (!user.is_superuser && !await submittedBy(lab, id, user) && secretNames(text).length > 0) {
    throw new LabRequestError(
      `Job '${id}' has secrets: only its submitter or an administrator may resubmit it; submit a copy with your own.`,
      403,
    );
  }
  return await lab.submit(text, { id: user.id, username: user.username });
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

/** A device the caller may not see does not exist for them. */
export function assertDeviceVisible(lab: Lab, hostname: string, access: Access): void {
  if (!lab.catalog.devices.has(hostname) || !access.rules.canViewDevice(access.rights, hostname)) {
    throw new LabRequestError(`Device '${hostname}' was not found.`, 404);
  }
}

/** A device as the caller may see it: a job it may not see is not named, the device's state says it is busy. */
export async function showDevice(lab: Lab, hostname: string, access: Access): Promise<DeviceView> {
  assertDeviceVisible(lab, hostname, access);
  const [view] = await withVisibleJobs(lab, access, [deviceView(lab, hostname)]);
  return view;
}

export async function listDevices(lab: Lab, all: boolean, access: Access): Promise<DeviceView[]> {
  const views = [...lab.catalog.devices.keys()].sort()
    .filter((h) => access.rules.canViewDevice(access.rights, h))
    .map((h) => deviceView(lab, h))
    .filter((d) => all || d.health !== "Retired");
  return await withVisibleJobs(lab, access, views);
}

async function withVisibleJobs(lab: Lab, access: Access, views: DeviceView[]): Promise<DeviceView[]> {
  const visible = await visibleJobIds(lab, access, views.flatMap((d) => d.current_job === null ? [] : [d.current_job]));
  return views.map((d) => d.current_job === null || visible.has(d.current_job) ? d : { ...d, current_job: null });
}

function deviceView(lab: Lab, hostname: string): DeviceView {
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

/** Devices of a type or worker that the caller may see. */
export function visibleDevices(lab: Lab, access: Access, filter: { deviceType?: string; worker?: string }): string[] {
  return lab.catalog.devicesOf(filter).map((d) => d.hostname).filter((h) =>
    access.rules.canViewDevice(access.rights, h)
  ).sort();
}

/**
 * A device's recorded transitions as the caller may see them: the device must be visible, and a job the caller
 * may not see is not named in them.
 */
export async function deviceTransitions(
  lab: Lab,
  hostname: string,
  access: Access,
  records: readonly TransitionRecord[],
): Promise<TransitionRecord[]> {
  assertDeviceVisible(lab, hostname, access);
  const ids = records.flatMap((r) => {
    const job = Number((r.payload as { job?: unknown } | null)?.job);
    return Number.isInteger(job) ? [job] : [];
  });
  const visible = await visibleJobIds(lab, access, [...new Set(ids)]);
  return records.map((r) => redactJob(r, (id) => visible.has(id)));
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

export async function showWorker(lab: Lab, hostname: string, access: Access): Promise<WorkerView> {
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
    devices: visibleDevices(lab, access, { worker: hostname }),
    last_ping: new Date(row?.last_ping ?? row?.created_at ?? 0),
    job_limit: info.jobLimit,
    version: status.version ?? "",
  };
}

/** A device type the caller may not see does not exist for them. */
export function assertDeviceTypeVisible(lab: Lab, name: string, access: Access): void {
  if (!lab.catalog.deviceTypes.has(name) || !access.rules.canViewDeviceType(access.rights, name)) {
    throw new LabRequestError(`Device-type '${name}' was not found.`, 404);
  }
}

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

/** The queued jobs the caller may see, next first, for `scheduler.jobs.queue`. */
export async function queuedJobs(
  lab: Lab,
  viewer: Viewer | undefined,
  deviceTypes: string[] | null,
  start = 0,
  limit = 25,
) {
  const { rules, rights } = await accessFor(lab, viewer);
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
  if (!rights.superuser) query = query.where(rules.jobCondition(rights));
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
