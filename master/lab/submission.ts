/**
 * Submitting a job: the definition is checked against LAVA's schema, split into
 * sub-jobs when it is MultiNode, and refused at once — with the reason — when no
 * device the lab has or could bring back could ever run it (unknown device
 * type, no device with those tags, every device retired, a context that cannot
 * configure its devices). What is accepted is
 * stored in one transaction and handed to the scheduler's queue.
 */
import {
  type Capabilities,
  describeMissing,
  type MissingMethod,
  missingMethods,
  requiredMethods,
} from "../../actors/definitions/methods.ts";
import type { Kysely } from "kysely";
import { stringify } from "yaml";
import { formatDiagnostic, validateJob } from "../../actors/definitions/job_schema.ts";
import { NOTIFY_LIMITS } from "./webhooks.ts";
import { MAX_JOB_FILE_CHARS } from "../../actors/lab/protocol.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import { timeoutSeconds } from "../../actors/definitions/timeouts.ts";
import { DeviceHealth, JobVisibility, PRIORITY_NAMES } from "../../actors/domain/states.ts";
import type { Database } from "../storage/schema.ts";
import { JobValueError } from "../devices/job_values.ts";
import type { Catalog, DeviceInfo } from "./catalog.ts";
import { connectionProblem, isMultinode, multinodeDeviceCount, splitMultinode } from "./multinode.ts";
import type { QueuedJob } from "./queue.ts";

type Block = Record<string, unknown>;

/** The job cannot be accepted; the message says why (and where, for schema errors). */
export class SubmissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubmissionError";
  }
}

export interface Submitter {
  readonly id: number;
  readonly username: string;
  readonly is_superuser?: boolean;
}

export interface SubmittedJob extends QueuedJob {
  /** `"12"`, or `"12.1"` for a MultiNode sub-job. */
  readonly displayId: string;
  readonly description: string;
  readonly visibility: number;
  readonly healthCheck: boolean;
  /** LAVA's `timeouts.queue`: cancelled if still queued this long after submission. */
  readonly queueTimeoutSeconds?: number;
}

export interface SubmitOptions {
  readonly healthCheck?: boolean;
  /** A health check goes to this device, whatever its tags. */
  readonly device?: string;
  /** What the submitter may use (LAVA's view and submit permissions); anything when absent (health checks). */
  readonly permits?: SubmitPermits;
}

export interface SubmitPermits {
  readonly username: string;
  /** A device type the submitter may not see does not exist for them. */
  viewType(name: string): boolean;
  submitTo(hostname: string): boolean;
}

export interface Planned {
  readonly definition: Block;
  readonly text: string;
  readonly deviceType: string;
  readonly tags: readonly string[];
  readonly role?: string;
  readonly index?: number;
  readonly requestedDevice?: string;
  readonly requestedWorker?: string;
  /** The deploy, boot and test methods the job uses. */
  readonly requires: Capabilities;
  /** A secondary connection's host role (the sub-job has no device type). */
  readonly hostRole?: string;
}

function priorityOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value in PRIORITY_NAMES) return PRIORITY_NAMES[value as keyof typeof PRIORITY_NAMES];
  return PRIORITY_NAMES.medium;
}

function visibilityOf(value: unknown): number {
  if (value === "personal") return JobVisibility.byName.personal;
  if (isMapping(value) && "group" in value) return JobVisibility.byName.group;
  return JobVisibility.byName.public;
}

/** What a worker said its dispatcher runs; undefined for a worker that never said. */
export type CapabilitiesOf = (worker: string) => Capabilities | undefined;

/**
 * Checks a definition and says which devices could take it; throws {@link SubmissionError}.
 * A device counts only if its worker runs every method the job uses (or never said what it runs).
 */
export function planSubmission(
  catalog: Catalog,
  text: string,
  options: SubmitOptions = {},
  capabilitiesOf: CapabilitiesOf = () => undefined,
): Planned[] {
  // A worker takes no larger file: a longer definition would be accepted and then fail when it starts.
  if (text.length > MAX_JOB_FILE_CHARS) {
    throw new SubmissionError(`the job definition is ${text.length} characters; at most ${MAX_JOB_FILE_CHARS}`);
  }
  const checked = validateJob(text, { file: "job definition" });
  if (!checked.valid) {
    throw new SubmissionError(
      `the job definition is not valid:\n${checked.errors.slice(0, 20).map(formatDiagnostic).join("\n")}`,
    );
  }
  if (checked.refusals.length > 0) {
    throw new SubmissionError(
      `the job uses what Basalt does not run:\n${checked.refusals.map(formatDiagnostic).join("\n")}`,
    );
  }
  const job = checked.job as Block;
  const callbacks = isMapping(job.notify) && Array.isArray(job.notify.callbacks) ? job.notify.callbacks.length : 0;
  if (callbacks > NOTIFY_LIMITS.callbacks) {
    throw new SubmissionError(
      `notify.callbacks: ${callbacks} callbacks; a job may have at most ${NOTIFY_LIMITS.callbacks}`,
    );
  }
  // Checked before splitting: a group bigger than the lab could never run, and
  // splitting a count of millions would stall the master.
  const connections = isMultinode(job) ? connectionProblem(job) : undefined;
  if (connections) throw new SubmissionError(connections);
  if (isMultinode(job) && multinodeDeviceCount(job) > catalog.devices.size) {
    throw new SubmissionError(
      `the MultiNode job asks for ${multinodeDeviceCount(job)} devices; the lab has ${catalog.devices.size}`,
    );
  }
  const planned: Planned[] = isMultinode(job)
    ? splitMultinode(job, crypto.randomUUID()).map((sub) => ({
      definition: sub.definition,
      text: stringify(sub.definition),
      deviceType: String(sub.definition.device_type ?? ""),
      tags: sub.tags,
      role: sub.role,
      index: sub.index,
      requestedDevice: typeof sub.definition.device === "string" ? sub.definition.device : undefined,
      requestedWorker: typeof sub.definition.worker === "string" ? sub.definition.worker : undefined,
      requires: requiredMethods(sub.definition),
      ...(typeof sub.definition.connection === "string" ? { hostRole: String(sub.definition.host_role) } : {}),
    }))
    : [{
      definition: job,
      text,
      deviceType: String(job.device_type ?? ""),
      tags: Array.isArray(job.tags) ? job.tags.map(String) : [],
      requestedDevice: options.device ?? (typeof job.device === "string" ? job.device : undefined),
      requestedWorker: typeof job.worker === "string" ? job.worker : undefined,
      requires: requiredMethods(job),
    }];
  if (planned.length === 0) throw new SubmissionError("the MultiNode job has no roles with a count above 0");
  // How many devices each (type, tags, device, worker) combination needs at once.
  const needs = new Map<string, { plan: Planned; count: number }>();
  for (const plan of planned) {
    if (plan.hostRole) continue;
    if (!plan.deviceType) {
      throw new SubmissionError(`${plan.role ? `role ${plan.role}: ` : ""}the job names no device_type`);
    }
    const key = JSON.stringify([plan.deviceType, [...plan.tags].sort(), plan.requestedDevice, plan.requestedWorker]);
    const need = needs.get(key);
    if (need) need.count++;
    else needs.set(key, { plan, count: 1 });
  }
  for (const { plan, count } of needs.values()) {
    const where = plan.role ? `role ${plan.role}: ` : "";
    const permits = options.permits;
    const resolved = catalog.resolveType(plan.deviceType);
    const type = resolved && (!permits || permits.viewType(resolved.name)) ? resolved : undefined;
    if (!type) {
      const known = [...catalog.deviceTypes.keys()].filter((t) => !permits || permits.viewType(t)).sort()
        .join(", ") || "none";
      throw new SubmissionError(`${where}device type ${plan.deviceType} does not exist (known types: ${known})`);
    }
    const ofType = catalog.devicesOf({ deviceType: type.name });
    if (ofType.length === 0) throw new SubmissionError(`${where}the lab has no device of type ${type.name}`);
    const alive = ofType.filter((d) => d.storedHealth !== DeviceHealth.byName.Retired);
    if (alive.length === 0) throw new SubmissionError(`${where}every device of type ${type.name} is Retired`);
    const permitted = permits ? alive.filter((d) => permits.submitTo(d.hostname)) : alive;
    if (permitted.length === 0) {
      throw new SubmissionError(
        `${where}no device of type ${type.name} takes jobs from user ${permits!.username}: ` +
          `submitting to it needs a permission an administrator grants to one of the user's groups`,
      );
    }
    if (plan.requestedDevice && !options.healthCheck) {
      const device = catalog.devices.get(plan.requestedDevice);
      if (!device || device.deviceType !== type.name) {
        throw new SubmissionError(`${where}there is no device ${plan.requestedDevice} of type ${type.name}`);
      }
    }
    const fitting = permitted.filter((d) =>
      (options.healthCheck || plan.tags.every((t) => d.tags.includes(t))) &&
      (!plan.requestedDevice || d.hostname === plan.requestedDevice) &&
      (!plan.requestedWorker || d.worker === plan.requestedWorker)
    );
    if (fitting.length < count) {
      const tags = plan.tags.length ? ` with tags ${plan.tags.join(", ")}` : "";
      throw new SubmissionError(
        `${where}the job needs ${count} device${count > 1 ? "s" : ""} of type ${type.name}${tags}` +
          `${plan.requestedWorker ? ` on worker ${plan.requestedWorker}` : ""}; the lab has ${fitting.length}`,
      );
    }
    refuseUnrunnable(plan, fitting, count, capabilitiesOf, `${where}device type ${type.name}`);
  }
  return planned.map((p) => p.hostRole ? p : { ...p, deviceType: catalog.resolveType(p.deviceType)!.name });
}

/**
 * Refuses a job that too few of the devices that fit it can run because their
 * workers' dispatchers do not run its methods, naming the methods and what the
 * workers run instead.
 */
function refuseUnrunnable(
  plan: Planned,
  fitting: readonly DeviceInfo[],
  count: number,
  capabilitiesOf: CapabilitiesOf,
  what: string,
): void {
  const known = new Map<string, Capabilities>();
  let runnable = 0;
  for (const device of fitting) {
    const capabilities = device.worker ? capabilitiesOf(device.worker) : undefined;
    if (!capabilities || missingMethods(plan.requires, capabilities).length === 0) runnable++;
    else known.set(device.worker!, capabilities);
  }
  if (runnable >= count) return;
  const missing = new Map<string, MissingMethod>();
  for (const capabilities of known.values()) {
    for (const m of missingMethods(plan.requires, capabilities)) missing.set(`${m.section} ${m.method}`, m);
  }
  const sections = new Set([...missing.values()].map((m) => m.section));
  const theyRun = [...sections].map((section) => {
    const methods = new Set([...known.values()].flatMap((c) => c[section]));
    return `${section}: ${[...methods].sort().join(", ") || "none"}`;
  });
  const methods = describeMissing([...missing.values()]);
  const workers = [...known.keys()].sort().join(", ");
  throw new SubmissionError(
    runnable === 0
      ? `${what}: no worker runs ${methods} (workers ${workers} run ${theyRun.join("; ")})`
      : `${what}: the job needs ${count} devices whose workers run ${methods}; the lab has ${runnable}` +
        ` (workers ${workers} run ${theyRun.join("; ")})`,
  );
}

/** Devices whose dictionaries a submission's context is tried against; the rest meet it when scheduled. */
const CONTEXT_CHECK_DEVICES = 8;

/**
 * Refuses a job whose `context` cannot configure the devices it could run on
 * (a value that breaks the rendered YAML), so it fails now, with the key named,
 * rather than on a device later. A device whose own dictionary does not render is
 * the device's problem, found when it is scheduled.
 */
export function refuseUnfitContexts(
  catalog: Catalog,
  planned: readonly Planned[],
  render: (device: DeviceInfo, context: Record<string, unknown>) => void,
): void {
  for (const plan of planned) {
    const context = plan.definition.context;
    if (!isMapping(context) || Object.keys(context).length === 0) continue;
    const seen = new Set<string>();
    const candidates = catalog.devicesOf({ deviceType: plan.deviceType }).filter((d) =>
      d.storedHealth !== DeviceHealth.byName.Retired && (!plan.requestedDevice || d.hostname === plan.requestedDevice)
    );
    for (const device of candidates) {
      const dictionary = device.dictionary ?? `file:${device.hostname}`;
      if (seen.size >= CONTEXT_CHECK_DEVICES || seen.has(dictionary)) continue;
      seen.add(dictionary);
      try {
        render(device, context as Record<string, unknown>);
      } catch (error) {
        if (error instanceof JobValueError) {
          throw new SubmissionError(`${plan.role ? `role ${plan.role}: ` : ""}${error.message}`);
        }
      }
    }
  }
}

/** Stores planned jobs in one transaction; returns them as the queue takes them. */
export async function storeSubmission(
  db: Kysely<Database>,
  planned: readonly Planned[],
  originalText: string,
  submitter: Submitter,
  options: SubmitOptions = {},
): Promise<SubmittedJob[]> {
  const multinode = planned.length > 1 || planned[0].role !== undefined;
  const group = multinode
    ? String(((planned[0].definition.protocols as Block)["lava-multinode"] as Block).target_group)
    : undefined;
  return await db.transaction().execute(async (trx) => {
    const stored: SubmittedJob[] = [];
    let firstId: number | undefined;
    for (const plan of planned) {
      const definition = plan.definition;
      const timeouts = isMapping(definition.timeouts) ? definition.timeouts : {};
      const queueTimeout = timeoutSeconds(timeouts.queue);
      const row = await trx.insertInto("test_jobs").values({
        definition: plan.text,
        original_definition: originalText,
        multinode_definition: multinode ? originalText : "",
        multinode_role: plan.role ?? null,
        target_group: group ?? null,
        description: String(definition.job_name ?? "").slice(0, 200),
        health_check: options.healthCheck ?? false,
        submitter_id: submitter.id,
        requested_device_type: plan.deviceType || null,
        requested_device: plan.requestedDevice ?? null,
        requested_worker: plan.requestedWorker ?? null,
        priority: priorityOf(definition.priority),
        visibility: visibilityOf(definition.visibility),
        queue_timeout_seconds: queueTimeout ?? null,
        metadata: JSON.stringify(isMapping(definition.metadata) ? definition.metadata : {}),
        required_methods: JSON.stringify(plan.requires),
      }).returning(["id", "submit_time", "priority", "visibility"]).executeTakeFirstOrThrow();
      firstId ??= row.id;
      const displayId = multinode ? `${firstId}.${plan.index}` : String(row.id);
      if (multinode) await trx.updateTable("test_jobs").set({ sub_id: displayId }).where("id", "=", row.id).execute();
      const visibility = definition.visibility;
      if (isMapping(visibility) && Array.isArray(visibility.group)) {
        const names = visibility.group.map(String);
        const groups = names.length
          ? await trx.selectFrom("groups").select(["id", "name"]).where("name", "in", names).execute()
          : [];
        const unknown = names.filter((n) => !groups.some((g) => g.name === n));
        if (unknown.length > 0) throw new SubmissionError(`visibility: no group named ${unknown.join(", ")}`);
        if (groups.length > 0) {
          await trx.insertInto("test_job_viewing_groups").values(
            groups.map((g) => ({ job_id: row.id, group_id: g.id })),
          )
            .execute();
        }
      }
      if (plan.tags.length > 0) {
        await trx.insertInto("test_job_tags").values([...new Set(plan.tags)].map((tag) => ({ job_id: row.id, tag })))
          .execute();
      }
      stored.push({
        id: row.id,
        displayId,
        deviceType: plan.deviceType,
        priority: row.priority,
        submitTime: new Date(row.submit_time).getTime(),
        tags: options.healthCheck ? [] : plan.tags,
        requestedDevice: plan.requestedDevice,
        requestedWorker: plan.requestedWorker,
        submitter: submitter.id,
        group,
        description: String(definition.job_name ?? ""),
        visibility: row.visibility,
        healthCheck: options.healthCheck ?? false,
        requires: plan.requires,
        ...(plan.role ? { role: plan.role } : {}),
        ...(plan.hostRole ? { hostRole: plan.hostRole } : {}),
        ...(queueTimeout ? { queueTimeoutSeconds: queueTimeout } : {}),
      });
    }
    return stored;
  });
}
