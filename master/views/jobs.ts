/**
 * Jobs as LAVA's APIs show them — LAVA's field names and display strings, read
 * from the database — and as pages need them: a MultiNode job's group, its
 * metadata, the queue. XML-RPC (for lavacli), the JSON API and the web pages
 * all answer from these, so they never disagree. Times are Dates: XML-RPC sends
 * them as dateTime, JSON as ISO strings.
 */
import { JobHealth, JobState, JobVisibility } from "../../actors/domain/states.ts";
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { lavaMetadataList } from "../lab/job_data.ts";
import { accessFor, assertVisible, type Viewer } from "./access.ts";

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

/** Whether `viewer` submitted job `id`. */
export async function isSubmitter(lab: Lab, id: number, viewer: Viewer | undefined): Promise<boolean> {
  if (!viewer) return false;
  const row = await lab.db.selectFrom("test_jobs").select("submitter_id").where("id", "=", id).executeTakeFirst();
  return row?.submitter_id === viewer.id;
}

/** Whether `user` may cancel job `id`: its submitter and administrators may. */
export async function mayCancel(lab: Lab, id: number, user: Viewer): Promise<boolean> {
  return user.is_superuser || await isSubmitter(lab, id, user);
}

/** A MultiNode job's group, one member a row in id order; empty for a job of no group. */
export async function jobGroup(lab: Lab, id: number): Promise<GroupMember[]> {
  const job = await lab.db.selectFrom("test_jobs").select("target_group").where("id", "=", id).executeTakeFirst();
  if (!job?.target_group) return [];
  const rows = await lab.db.selectFrom("test_jobs")
    .select(["id", "sub_id", "multinode_role", "state", "health", "actual_device"])
    .where("target_group", "=", job.target_group).orderBy("id").execute();
  return rows.map((r) => ({
    id: r.sub_id || r.id,
    role: r.multinode_role,
    state: JobState.name(r.state),
    health: JobHealth.name(r.health),
    device: r.actual_device,
  }));
}

export interface GroupMember {
  /** The member's sub-id, as the group names it. */
  readonly id: string | number;
  readonly role: string | null;
  readonly state: string;
  readonly health: string;
  readonly device: string | null;
}

/** A job's metadata as LAVA's APIs give it (`[{name: value}, ...]`), for `results.get_testjob_metadata` and REST. */
export async function jobMetadata(lab: Lab, id: number): Promise<Record<string, string>[]> {
  const row = await lab.db.selectFrom("test_jobs").select("metadata").where("id", "=", id).executeTakeFirst();
  return lavaMetadataList(row?.metadata);
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
