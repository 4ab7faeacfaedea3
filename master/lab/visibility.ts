/**
 * Who may see, submit to and change what, as LAVA 2023.01 decides it, in one
 * place: every page, API answer, event stream, submission and scheduling
 * decision asks these functions, so none can disagree.
 *
 * Groups hold `view`, `submit` or `change` on a device type or a device; each
 * implies the ones below it (change > submit > view). A permission is
 * *restricted* on an object when some group holds exactly it there.
 * - A device type is seen by administrators, by holders of any permission on
 *   it, and by everyone while `view` is not restricted. Submitting to it needs
 *   `submit` (or `change`) when `submit` is restricted, else a login.
 * - A device is seen by administrators and holders of any permission on it;
 *   otherwise, while `view` is not restricted on it, by whoever may see its
 *   device type. Its `is_public` false (Basalt's column) restricts `view` and
 *   `submit` with no group granted. Submitting to it: holders of `submit` on
 *   it; else, while `submit` is not restricted on it, whoever may submit to its
 *   type. Changing it: holders of `change` on it, else (while not restricted)
 *   holders of `change` on its type.
 * - A job is seen by administrators and its submitter; a group job by users in
 *   every one of its groups; a public job by whoever may see its device (its
 *   requested device type while it has none). A personal job by no one else.
 *
 * The rules are plain data, so a stream or the scheduler can decide for many
 * users without a query per decision.
 */
import type { ExpressionBuilder, Kysely } from "kysely";
import { parseDocument, Scalar, visit, YAMLMap } from "yaml";
import { isMap, isScalar, type Node } from "yaml";
import { indentQuotedContinuations } from "../../actors/definitions/yaml.ts";
import { JobVisibility } from "../../actors/domain/states.ts";
import type { TransitionRecord } from "../../actors/runtime/journal.ts";
import type { Database, Permission } from "../storage/schema.ts";

/** Who is asking: nobody, a user, or an administrator. */
export interface Viewer {
  readonly id: number;
  readonly is_superuser: boolean;
}

/** A viewer with the groups they are in. */
export interface Rights {
  readonly userId: number | null;
  readonly superuser: boolean;
  readonly groups: ReadonlySet<number>;
}

/** What decides whether a job may be seen; fixed at submission except its device. */
export interface JobFacts {
  readonly id: number;
  readonly visibility: number;
  readonly submitterId: number;
  readonly viewingGroups: readonly number[];
  device: string | null;
  deviceType: string | null;
}

/** Who holds what on one device or device type. */
export interface Grants {
  /** Restricted with no group granted (a device whose `is_public` is false). */
  readonly hidden: boolean;
  /** The groups holding each permission (not the ones it implies). */
  readonly holders: ReadonlyMap<Permission, ReadonlySet<number>>;
}

/** Stronger first: holding one grants those after it. */
const PERMISSION_ORDER: readonly Permission[] = ["change", "submit", "view"];

const OPEN: Grants = { hidden: false, holders: new Map() };

/** Grants from permission rows; `hidden` restricts view and submit. */
export function grantsOf(rows: readonly { group_id: number; permission: Permission }[], hidden = false): Grants {
  const holders = new Map<Permission, Set<number>>();
  for (const row of rows) {
    if (!holders.has(row.permission)) holders.set(row.permission, new Set());
    holders.get(row.permission)!.add(row.group_id);
  }
  return { hidden, holders };
}

/** Device and device-type grants, and (for the users asked about) group memberships. */
export class AccessRules {
  constructor(
    readonly devices: ReadonlyMap<string, { readonly deviceType: string; readonly grants: Grants }>,
    readonly deviceTypes: ReadonlyMap<string, Grants>,
    readonly memberships: ReadonlyMap<number, ReadonlySet<number>>,
    /** Administrators among the users whose memberships were read. */
    readonly administrators: ReadonlySet<number> = NO_GROUPS,
  ) {}

  /** Loads the rules; memberships of `users` only, or of everyone when not given. */
  static async load(db: Kysely<Database>, users?: readonly number[]): Promise<AccessRules> {
    const [devices, devicePerms, typePerms, members, admins] = await Promise.all([
      db.selectFrom("devices").select(["hostname", "device_type", "is_public"]).execute(),
      db.selectFrom("device_group_permissions").select(["device_hostname", "group_id", "permission"]).execute(),
      db.selectFrom("device_type_group_permissions").select(["device_type", "group_id", "permission"]).execute(),
      users?.length === 0
        ? Promise.resolve([])
        : (users ? db.selectFrom("user_groups").selectAll().where("user_id", "in", users) : db.selectFrom(
          "user_groups",
        ).selectAll()).execute(),
      users ? Promise.resolve([]) : db.selectFrom("users").select("id").where("is_superuser", "=", true)
        .where("is_active", "=", true).execute(),
    ]);
    const byDevice = Map.groupBy(devicePerms, (p) => p.device_hostname);
    const byType = Map.groupBy(typePerms, (p) => p.device_type);
    const memberships = new Map<number, Set<number>>();
    for (const m of members) {
      if (!memberships.has(m.user_id)) memberships.set(m.user_id, new Set());
      memberships.get(m.user_id)!.add(m.group_id);
    }
    return new AccessRules(
      new Map(devices.map((d) => [d.hostname, {
        deviceType: d.device_type,
        grants: grantsOf(byDevice.get(d.hostname) ?? [], !d.is_public),
      }])),
      new Map([...byType].map(([type, rows]) => [type, grantsOf(rows)])),
      memberships,
      new Set(admins.map((a) => a.id)),
    );
  }

  rightsOf(viewer: Viewer | undefined): Rights {
    if (!viewer) return ANONYMOUS;
    return { userId: viewer.id, superuser: viewer.is_superuser, groups: this.memberships.get(viewer.id) ?? NO_GROUPS };
  }

  /** A user's rights by id alone, from rules loaded for everyone (the scheduler's view). */
  rightsOfId(id: number): Rights {
    return this.rightsOf({ id, is_superuser: this.administrators.has(id) });
  }

  canViewDeviceType(rights: Rights, type: string): boolean {
    const grants = this.deviceTypes.get(type) ?? OPEN;
    return rights.superuser || !restricts(grants, "view") || holds(rights, grants, "view");
  }

  /** Whether jobs may ask for the type: a login, and `submit` where it is restricted. */
  canSubmitToDeviceType(rights: Rights, type: string): boolean {
    if (rights.superuser) return true;
    if (rights.userId === null) return false;
    const grants = this.deviceTypes.get(type) ?? OPEN;
    return !restricts(grants, "submit") || holds(rights, grants, "submit");
  }

  canChangeDeviceType(rights: Rights, type: string): boolean {
    return rights.superuser || holds(rights, this.deviceTypes.get(type) ?? OPEN, "change");
  }

  /** A device these rules do not know (added since they were loaded) is seen by administrators only. */
  canViewDevice(rights: Rights, hostname: string): boolean {
    if (rights.superuser) return true;
    const device = this.devices.get(hostname);
    if (!device) return false;
    if (holds(rights, device.grants, "view")) return true;
    return !restricts(device.grants, "view") && this.canViewDeviceType(rights, device.deviceType);
  }

  /** Whether the user's jobs may run on the device (its health aside). */
  canSubmitToDevice(rights: Rights, hostname: string): boolean {
    if (rights.superuser) return true;
    const device = this.devices.get(hostname);
    if (!device || rights.userId === null) return false;
    if (holds(rights, device.grants, "submit")) return true;
    return !restricts(device.grants, "submit") && this.canSubmitToDeviceType(rights, device.deviceType);
  }

  canChangeDevice(rights: Rights, hostname: string): boolean {
    if (rights.superuser) return true;
    const device = this.devices.get(hostname);
    if (!device) return false;
    if (holds(rights, device.grants, "change")) return true;
    return !restricts(device.grants, "change") &&
      holds(rights, this.deviceTypes.get(device.deviceType) ?? OPEN, "change");
  }

  canViewJob(rights: Rights, job: JobFacts | undefined): boolean {
    if (!job) return rights.superuser;
    if (rights.superuser || job.submitterId === rights.userId) return true;
    if (job.visibility === JobVisibility.byName.group) {
      return job.viewingGroups.length > 0 && job.viewingGroups.every((g) => rights.groups.has(g));
    }
    if (job.visibility !== JobVisibility.byName.public) return false;
    if (job.device) return this.canViewDevice(rights, job.device);
    return job.deviceType === null || this.canViewDeviceType(rights, job.deviceType);
  }

  /**
   * The same decision as {@link canViewJob} as a condition on `test_jobs as j`, for lists: the database filters,
   * so paging counts only what the viewer sees.
   */
  jobCondition(rights: Rights) {
    const hiddenDevices = [...this.devices.keys()].filter((h) => !this.canViewDevice(rights, h));
    const hiddenTypes = [...this.deviceTypes.keys()].filter((t) => !this.canViewDeviceType(rights, t));
    const groups = [...rights.groups];
    return (eb: ExpressionBuilder<Database & { j: Database["test_jobs"] }, "j">) => {
      const publicJob = [eb("j.visibility", "=", JobVisibility.byName.public)];
      if (hiddenDevices.length > 0) {
        publicJob.push(eb.or([eb("j.actual_device", "is", null), eb("j.actual_device", "not in", hiddenDevices)]));
      }
      if (hiddenTypes.length > 0) {
        publicJob.push(eb.or([
          eb("j.actual_device", "is not", null),
          eb("j.requested_device_type", "is", null),
          eb("j.requested_device_type", "not in", hiddenTypes),
        ]));
      }
      const anyOf = [eb.and(publicJob)];
      if (rights.userId !== null) anyOf.push(eb("j.submitter_id", "=", rights.userId));
      if (groups.length > 0) {
        const viewing = () =>
          eb.selectFrom("test_job_viewing_groups as v").select("v.job_id").whereRef("v.job_id", "=", "j.id");
        anyOf.push(eb.and([
          eb("j.visibility", "=", JobVisibility.byName.group),
          eb.exists(viewing()),
          eb.not(eb.exists(viewing().where("v.group_id", "not in", groups))),
        ]));
      }
      return eb.or(anyOf);
    };
  }
}

const NO_GROUPS: ReadonlySet<number> = new Set();
const ANONYMOUS: Rights = { userId: null, superuser: false, groups: NO_GROUPS };

/** Whether one of the user's groups holds `permission` or a stronger one. */
function holds(rights: Rights, grants: Grants, permission: Permission): boolean {
  for (const held of PERMISSION_ORDER.slice(0, PERMISSION_ORDER.indexOf(permission) + 1)) {
    for (const group of grants.holders.get(held) ?? NO_GROUPS) if (rights.groups.has(group)) return true;
  }
  return false;
}

/** Whether a group holds exactly `permission` (so it is no longer everyone's); hidden restricts view and submit. */
function restricts(grants: Grants, permission: Permission): boolean {
  return (grants.hidden && permission !== "change") || (grants.holders.get(permission)?.size ?? 0) > 0;
}

/** The rules as one request needs them: only the viewer's memberships are read; an administrator needs none. */
export async function rulesFor(db: Kysely<Database>, viewer: Viewer | undefined): Promise<[AccessRules, Rights]> {
  const rules = viewer?.is_superuser
    ? new AccessRules(new Map(), new Map(), new Map())
    : await AccessRules.load(db, viewer ? [viewer.id] : []);
  return [rules, rules.rightsOf(viewer)];
}

/** The facts of jobs by id; a job that does not exist is missing from the map. */
export async function loadJobFacts(db: Kysely<Database>, ids: readonly number[]): Promise<Map<number, JobFacts>> {
  const facts = new Map<number, JobFacts>();
  if (ids.length === 0) return facts;
  const [rows, groups] = await Promise.all([
    db.selectFrom("test_jobs")
      .select(["id", "visibility", "submitter_id", "actual_device", "requested_device_type"])
      .where("id", "in", ids).execute(),
    db.selectFrom("test_job_viewing_groups").select(["job_id", "group_id"]).where("job_id", "in", ids).execute(),
  ]);
  const groupsBy = Map.groupBy(groups, (g) => g.job_id);
  for (const r of rows) {
    facts.set(r.id, {
      id: r.id,
      visibility: r.visibility,
      submitterId: r.submitter_id,
      viewingGroups: (groupsBy.get(r.id) ?? []).map((g) => g.group_id),
      device: r.actual_device,
      deviceType: r.requested_device_type,
    });
  }
  return facts;
}

/** The transition record without the job it names, unless `visible` says the caller may see that job. */
export function redactJob(record: TransitionRecord, visible: (id: number) => boolean): TransitionRecord {
  const payload = record.payload as { job?: unknown } | null;
  if (!payload || typeof payload !== "object" || !("job" in payload)) return record;
  if (visible(Number(payload.job))) return record;
  const { job: _hidden, ...rest } = payload;
  return { ...record, payload: rest };
}

/** As submissions are read (YAML 1.1, so merge keys work as in LAVA's PyYAML). */
const YAML_OPTIONS = { version: "1.1", uniqueKeys: false } as const;
const MAX_ALIASES = { maxAliasCount: 1000 };

/** What a viewer who is not the submitter sees in place of a secret, as LAVA's logs show it. */
export const MASKED = "[MASKED]";

/** The top-level `secrets` of a job definition, as their names; empty when it has none or cannot be read. */
export function secretNames(definition: string): string[] {
  const doc = parseDocument(indentQuotedContinuations(definition), YAML_OPTIONS);
  if (!isMap(doc.contents)) return [];
  return doc.contents.items.filter((p) => isScalar(p.key) && p.key.value === "secrets").flatMap((p) => {
    try {
      const value = (p.value as Node | null)?.toJS(doc, MAX_ALIASES);
      return value && typeof value === "object" ? Object.keys(value) : ["secrets"];
    } catch {
      return ["secrets"]; // aliases past the yaml library's bound: there is something there
    }
  });
}

/**
 * The definition with every value under `secrets` replaced by `[MASKED]`, and every alias to an anchor set inside
 * them, so a reader learns which secrets a job has but not their values. A definition that cannot be read is not
 * shown at all rather than shown whole.
 */
export function maskSecrets(definition: string): string {
  try {
    return masked(definition);
  } catch {
    return UNREADABLE;
  }
}

const UNREADABLE = `# the definition cannot be read, so it is not shown: ${MASKED}\n`;

function masked(definition: string): string {
  const doc = parseDocument(indentQuotedContinuations(definition), YAML_OPTIONS);
  if (doc.errors.length > 0) return definition.includes("secrets") ? UNREADABLE : definition;
  if (!isMap(doc.contents)) return definition;
  const anchors = new Set<string>();
  let masked = false;
  for (const pair of (doc.contents as YAMLMap<unknown, unknown>).items) {
    if (!isScalar(pair.key) || pair.key.value !== "secrets" || !pair.value) continue;
    visit(pair.value as Node, {
      Node(_, node) {
        if (node.anchor) anchors.add(node.anchor);
      },
    });
    const value = (pair.value as Node).toJS(doc, MAX_ALIASES);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const map = new YAMLMap();
      for (const key of Object.keys(value)) map.add(doc.createPair(key, MASKED));
      pair.value = map;
    } else {
      pair.value = new Scalar(MASKED);
    }
    masked = true;
  }
  if (!masked) return definition;
  visit(doc, {
    Alias(_, alias) {
      if (anchors.has(alias.source)) return new Scalar(MASKED);
    },
  });
  return doc.toString();
}
