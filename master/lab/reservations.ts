/**
 * A reservation is a job: this turns a request — a device or a device type with
 * tags, a length, and optionally a job whose deploy and boot actions run first —
 * into the job definition that is submitted like any other (same queue, same
 * permissions, same scheduler). Its last action is Basalt's `reservation` test,
 * whose timeout is the reservation's length (worker/strategies/test/reservation.ts).
 * The definition is validated again on submission; here the request's own
 * mistakes are named.
 */
import { stringify } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { timeoutSeconds } from "../../actors/definitions/timeouts.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { MAX_JOB_FILE_CHARS } from "../../actors/lab/protocol.ts";
import { LabRequestError } from "./request_error.ts";
import type { Catalog } from "./catalog.ts";
import type { SubmittedJob, Submitter } from "./submission.ts";

/** The longest reservation, in minutes: a day, as LAVA bounds a hacking session's timeout. */
export const MAX_RESERVATION_MINUTES = 24 * 60;
export const DEFAULT_RESERVATION_MINUTES = 30;
/** Time given to a reservation's deploy and boot when the boot job says no job timeout. */
const DEFAULT_BOOT_MINUTES = 15;

export interface ReservationRequest {
  /** A device by name; its type is the lab's. */
  readonly device?: string;
  readonly deviceType?: string;
  readonly tags?: readonly string[];
  readonly minutes?: number;
  /** A job definition (YAML) whose deploy, boot and command actions run before the console is handed over. */
  readonly boot?: string;
  readonly priority?: number | string;
  readonly visibility?: string;
}

type Block = Record<string, unknown>;

/** What reserving needs of the lab: its devices, and submitting as the caller. */
export interface ReservingLab {
  readonly catalog: Catalog;
  submit(text: string, submitter: Submitter): Promise<SubmittedJob[]>;
}

/**
 * Reserves a device for `submitter`: the reservation's job, submitted with their permissions (only a user who may
 * submit to the device may reserve it). A device named alone is reserved as its type.
 */
export async function reserve(
  lab: ReservingLab,
  request: ReservationRequest,
  submitter: Submitter,
): Promise<SubmittedJob> {
  const deviceType = request.deviceType ??
    (request.device !== undefined ? lab.catalog.devices.get(request.device)?.deviceType : undefined);
  if (request.device !== undefined && deviceType === undefined) {
    throw new LabRequestError(`there is no device ${request.device}`, 404);
  }
  const [job] = await lab.submit(reservationDefinition({ ...request, deviceType }, submitter.username), submitter);
  return job;
}

/** The job definition (YAML) of a reservation; throws {@link LabRequestError} naming what is wrong. */
export function reservationDefinition(request: ReservationRequest, holder: string): string {
  const minutes = request.minutes ?? DEFAULT_RESERVATION_MINUTES;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_RESERVATION_MINUTES) {
    throw new LabRequestError(`minutes: a reservation lasts 1 to ${MAX_RESERVATION_MINUTES} whole minutes`);
  }
  const boot = request.boot === undefined ? undefined : bootJob(request.boot);
  const deviceType = request.deviceType ?? (typeof boot?.device_type === "string" ? boot.device_type : undefined);
  if (!deviceType) throw new LabRequestError("device_type: name the device type (or a device) to reserve");
  const tags = [...new Set([...(Array.isArray(boot?.tags) ? boot.tags.map(String) : []), ...(request.tags ?? [])])];
  const bootActions = (Array.isArray(boot?.actions) ? boot.actions : [])
    .filter((entry): entry is Block => isMapping(entry) && !("test" in entry));
  const bootSeconds = boot
    ? timeoutSeconds(isMapping(boot.timeouts) ? boot.timeouts.job : undefined) ?? DEFAULT_BOOT_MINUTES * 60
    : 0;
  const what = request.device ?? deviceType;
  const job: Block = {
    job_name: `reservation of ${what} by ${holder}${typeof boot?.job_name === "string" ? `: ${boot.job_name}` : ""}`
      .slice(0, 200),
    device_type: deviceType,
    ...(request.device ? { device: request.device } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    priority: request.priority ?? boot?.priority ?? "medium",
    visibility: request.visibility ?? boot?.visibility ?? "public",
    timeouts: {
      ...(isMapping(boot?.timeouts) ? boot.timeouts : {}),
      // The boot's own time, the reservation, and a minute for finalize.
      job: { seconds: bootSeconds + minutes * 60 + 60 },
    },
    ...pick(boot, ["context", "secrets", "environment", "metadata"]),
    actions: [...bootActions, { test: { timeout: { minutes }, reservation: {} } }],
  };
  return stringify(job);
}

function bootJob(text: string): Block {
  if (text.length > MAX_JOB_FILE_CHARS) {
    throw new LabRequestError(`boot: the job definition is longer than ${MAX_JOB_FILE_CHARS} characters`);
  }
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0) {
    const first = loaded.errors[0];
    throw new LabRequestError(`boot: line ${first.line}: ${first.message}`);
  }
  if (!isMapping(loaded.value)) throw new LabRequestError("boot: a job definition is a mapping");
  const job = loaded.value;
  if (isMapping(job.protocols) && "lava-multinode" in job.protocols) {
    throw new LabRequestError("boot: a MultiNode job cannot boot a reservation: give one device's job");
  }
  if (!Array.isArray(job.actions)) throw new LabRequestError("boot: the job has no actions");
  return job;
}

function pick(from: Block | undefined, keys: readonly string[]): Block {
  const out: Block = {};
  for (const key of keys) if (from && from[key] !== undefined) out[key] = from[key];
  return out;
}
