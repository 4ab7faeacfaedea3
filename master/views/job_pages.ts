/**
 * Jobs as LAVA's REST API v0.2 lists them: django-filter's filters and
 * ordering over the jobs the caller may see, a page of them with the total
 * count, each with the serializer's fields (state and health as display
 * strings, times as ISO strings, the submitter's name, the job token only
 * for administrators — Basalt keeps none it could show).
 */
import { sql } from "kysely";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { accessFor, type Viewer } from "./access.ts";
import {
  filterConditions,
  type FilterSpec,
  NUMBER_LOOKUPS,
  orderingTerms,
  TEXT_LOOKUPS,
  TIME_LOOKUPS,
} from "./filters.ts";

const STATES = { names: JobState.names };
const HEALTHS = { names: JobHealth.names };

export const JOB_FILTERS: FilterSpec = {
  id: { column: "j.id", kind: "int", lookups: NUMBER_LOOKUPS },
  submitter: { column: "j.submitter_id", kind: "int", lookups: ["exact", "in"] },
  // Through the user's row rather than a join, so a count over every job needs no join.
  submitter__username: {
    column: "username",
    kind: "text",
    lookups: TEXT_LOOKUPS,
    through: { table: "users", key: "id", owner: "j.submitter_id" },
  },
  description: { column: "j.description", kind: "text", lookups: TEXT_LOOKUPS },
  health_check: { column: "j.health_check", kind: "bool", lookups: ["exact"] },
  requested_device_type: { column: "j.requested_device_type", kind: "text", lookups: TEXT_LOOKUPS },
  requested_device_type__name: { column: "j.requested_device_type", kind: "text", lookups: TEXT_LOOKUPS },
  actual_device: { column: "j.actual_device", kind: "text", lookups: [...TEXT_LOOKUPS, "isnull"] },
  actual_device__hostname: { column: "j.actual_device", kind: "text", lookups: TEXT_LOOKUPS },
  // A tag by its id, as LAVA's filter takes it.
  tags: {
    column: "(SELECT tags.id FROM tags WHERE tags.name = test_job_tags.tag)",
    kind: "int",
    lookups: ["exact", "in"],
    through: { table: "test_job_tags", key: "job_id", owner: "j.id" },
  },
  tags__name: {
    column: "tag",
    kind: "text",
    lookups: TEXT_LOOKUPS,
    through: { table: "test_job_tags", key: "job_id", owner: "j.id" },
  },
  viewing_groups: {
    column: "group_id",
    kind: "int",
    lookups: ["exact", "in"],
    through: { table: "test_job_viewing_groups", key: "job_id", owner: "j.id" },
  },
  submit_time: { column: "j.submit_time", kind: "time", lookups: TIME_LOOKUPS },
  start_time: { column: "j.start_time", kind: "time", lookups: TIME_LOOKUPS },
  end_time: { column: "j.end_time", kind: "time", lookups: TIME_LOOKUPS },
  state: { column: "j.state", kind: STATES, lookups: ["exact", "in"] },
  health: { column: "j.health", kind: HEALTHS, lookups: ["exact", "in"] },
  priority: { column: "j.priority", kind: "int", lookups: NUMBER_LOOKUPS },
  target_group: { column: "j.target_group", kind: "text", lookups: [...TEXT_LOOKUPS, "isnull"] },
  definition: { column: "j.definition", kind: "text", lookups: TEXT_LOOKUPS },
  original_definition: { column: "j.original_definition", kind: "text", lookups: TEXT_LOOKUPS },
  multinode_definition: { column: "j.multinode_definition", kind: "text", lookups: TEXT_LOOKUPS },
  failure_comment: { column: "j.failure_comment", kind: "text", lookups: [...TEXT_LOOKUPS, "isnull"] },
};

const JOB_ORDERING = { id: "j.id", start_time: "j.start_time", end_time: "j.end_time", submit_time: "j.submit_time" };

export interface RestJob {
  id: number;
  submitter: string;
  viewing_groups: number[];
  description: string;
  health_check: boolean;
  requested_device_type: string | null;
  /** Tag ids, as LAVA's serializer gives them. */
  tags: number[];
  actual_device: string | null;
  submit_time: string;
  start_time: string | null;
  end_time: string | null;
  state: string;
  health: string;
  priority: number;
  definition: string;
  original_definition: string;
  multinode_definition: string;
  failure_tags: string[];
  failure_comment: string | null;
  token?: null;
}

/** DRF's spelling of a time: ISO 8601 in UTC with `Z`, microseconds when there are any. */
export function restTime(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const iso = new Date(value).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`;
}

function jobRows(lab: Lab) {
  return lab.db.selectFrom("test_jobs as j");
}

export interface JobPageRequest {
  readonly params: Record<string, string>;
  readonly ordering?: string;
  readonly offset: number;
  readonly limit: number;
  /** One job by id (a retrieve), still under the caller's visibility. */
  readonly id?: number;
}

/** A page of the jobs the caller may see, and how many there are in all. */
export async function jobPage(
  lab: Lab,
  viewer: Viewer | undefined,
  request: JobPageRequest,
): Promise<{ count: number; results: RestJob[] }> {
  const { rules, rights } = await accessFor(lab, viewer);
  let base = jobRows(lab);
  if (!rights.superuser) base = base.where(rules.jobCondition(rights));
  const filter = filterConditions(JOB_FILTERS, request.params);
  if (filter) base = base.where(filter);
  if (request.id !== undefined) base = base.where("j.id", "=", request.id);
  const order = orderingTerms(request.ordering, JOB_ORDERING);
  const [counted, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<string>().as("count")).executeTakeFirstOrThrow(),
    base.selectAll("j")
      .orderBy(sql.raw(order.length ? [...order, "j.id ASC"].join(", ") : "j.id ASC"))
      .offset(request.offset).limit(request.limit).execute(),
  ]);
  if (rows.length === 0) return { count: Number(counted.count), results: [] };
  const ids = rows.map((r) => r.id);
  const [tags, groups, users] = await Promise.all([
    lab.db.selectFrom("test_job_tags as jt").innerJoin("tags as t", "t.name", "jt.tag")
      .select(["jt.job_id", "t.id"]).where("jt.job_id", "in", ids).execute(),
    lab.db.selectFrom("test_job_viewing_groups").select(["job_id", "group_id"]).where("job_id", "in", ids).execute(),
    lab.db.selectFrom("users").select(["id", "username"])
      .where("id", "in", [...new Set(rows.map((r) => r.submitter_id))]).execute(),
  ]);
  const nameOf = new Map(users.map((u) => [u.id, u.username]));
  const tagsOf = Map.groupBy(tags, (t) => t.job_id);
  const groupsOf = Map.groupBy(groups, (g) => g.job_id);
  const results = rows.map((r): RestJob => ({
    id: r.id,
    submitter: nameOf.get(r.submitter_id) ?? "",
    viewing_groups: (groupsOf.get(r.id) ?? []).map((g) => g.group_id),
    description: r.description,
    health_check: r.health_check,
    requested_device_type: r.requested_device_type,
    tags: (tagsOf.get(r.id) ?? []).map((t) => Number(t.id)),
    actual_device: r.actual_device,
    submit_time: restTime(r.submit_time)!,
    start_time: restTime(r.start_time),
    end_time: restTime(r.end_time),
    state: JobState.name(r.state),
    health: JobHealth.name(r.health),
    priority: r.priority,
    definition: r.definition,
    original_definition: r.original_definition,
    multinode_definition: r.multinode_definition,
    failure_tags: [],
    failure_comment: r.failure_comment ?? (r.error_msg ? `${r.error_type}: ${r.error_msg}` : null),
    ...(rights.superuser ? { token: null } : {}),
  }));
  return { count: Number(counted.count), results };
}

/** One job the caller may see, as the REST API shows it; 404 otherwise. */
export async function restJob(lab: Lab, viewer: Viewer | undefined, id: number): Promise<RestJob> {
  const { results } = await jobPage(lab, viewer, { params: {}, offset: 0, limit: 1, id });
  if (!results[0]) throw new LabRequestError("Not found.", 404);
  return results[0];
}
