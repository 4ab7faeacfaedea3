/**
 * What master and workers say to each other over their mailboxes. The master
 * addresses a worker's `runs` actor; a worker addresses the master's `job/ID`
 * actor. Every body is checked on arrival: a peer can send anything, and what
 * does not parse is dropped and counted by the mailbox, never handed on.
 *
 * Delivery is exactly-once and in order per direction, so starts, cancels and
 * ends need no reconciliation beyond a worker that lost its journal (a new
 * epoch), which the master handles by failing that worker's running jobs.
 */
import { type Capabilities, parseCapabilities } from "../definitions/methods.ts";
import { type BodyOf, defineProtocol, fail, isProblem, isRecord, type ParseProblem } from "../mailbox/protocol.ts";
import { type DownFrame, parseDownFrame, parseUpFrame, type UpFrame } from "./console_frames.ts";

/** LAVA job ids are integers, and `N.M` for the sub-jobs of a MultiNode job. */
const JOB_ID = /^\d{1,18}(\.\d{1,6})?$/;
/** A whole job's files may be large, but not unbounded. */
/** The largest file (job definition, device configuration, description) a job's messages carry, in characters. */
export const MAX_JOB_FILE_CHARS = 4 * 1024 * 1024;
const MAX_RECORDS = 1000;
const MAX_LINE = 2 ** 31 - 1;

export const LOG_LEVELS = [
  "debug",
  "info",
  "warning",
  "error",
  "exception",
  "input",
  "target",
  "feedback",
  "results",
  "event",
] as const;
export type JobLogLevel = (typeof LOG_LEVELS)[number];

/** One line of a job's log, as LAVA writes it (`{"dt","lvl","msg"}`), with its number. */
export interface JobLogLine {
  readonly dt: string;
  readonly lvl: JobLogLevel;
  readonly msg: unknown;
}

export interface JobStart {
  readonly job: string;
  /** The job definition as submitted (YAML). */
  readonly definition: string;
  /** The device configuration rendered for this job (YAML). */
  readonly device: string;
  readonly dispatcher?: string;
  readonly envDut?: string;
}

export interface JobLogBatch {
  readonly job: string;
  /** The line number of the first record: a resent batch overlaps what is stored, and the overlap is skipped. */
  readonly from: number;
  readonly lines: readonly JobLogLine[];
}

export interface JobEnd {
  readonly job: string;
  readonly result: "pass" | "fail";
  /** LAVA's error_type when the job failed: Infrastructure, Job, Test, Bug, Configuration, Canceled... */
  readonly errorType?: string;
  readonly errorMsg?: string;
  /** `description.yaml`: the pipeline as run. */
  readonly description?: string;
}

export interface WorkerSummary {
  readonly version: string;
  /** Jobs this worker runs at once at most; 0 for no limit. */
  readonly jobLimit: number;
  readonly running: readonly string[];
  /** The methods its dispatcher runs; absent from a worker older than capabilities. */
  readonly capabilities?: Capabilities;
}

type Parsed<T> = T | ParseProblem;

function jobId(body: Record<string, unknown>): string | undefined {
  return typeof body.job === "string" && JOB_ID.test(body.job) ? body.job : undefined;
}

function optionalText(body: Record<string, unknown>, key: string): Parsed<string | undefined> {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") return fail(`${key} must be a string`);
  if (value.length > MAX_JOB_FILE_CHARS) return fail(`${key} is larger than ${MAX_JOB_FILE_CHARS} characters`);
  return value;
}

function parseStart(body: unknown): Parsed<JobStart> {
  if (!isRecord(body)) return fail("job.start must be a mapping");
  const job = jobId(body);
  if (!job) return fail('job must be a job id such as "12" or "12.1"');
  const fields: Record<string, string | undefined> = {};
  for (const key of ["definition", "device", "dispatcher", "envDut"]) {
    const value = optionalText(body, key);
    if (isProblem(value)) return value;
    fields[key] = value;
  }
  if (!fields.definition) return fail("definition must be the job's YAML");
  if (!fields.device) return fail("device must be the rendered device YAML");
  return {
    job,
    definition: fields.definition,
    device: fields.device,
    ...(fields.dispatcher !== undefined ? { dispatcher: fields.dispatcher } : {}),
    ...(fields.envDut !== undefined ? { envDut: fields.envDut } : {}),
  };
}

function parseJobOnly(kind: string) {
  return (body: unknown): Parsed<{ job: string }> => {
    if (!isRecord(body)) return fail(`${kind} must be a mapping`);
    const job = jobId(body);
    return job ? { job } : fail("job must be a job id");
  };
}

function parseRefused(body: unknown): Parsed<{ job: string; reason: string }> {
  if (!isRecord(body)) return fail("job.refused must be a mapping");
  const job = jobId(body);
  if (!job) return fail("job must be a job id");
  return { job, reason: typeof body.reason === "string" ? body.reason.slice(0, 2000) : "no reason given" };
}

function parseLogLine(value: unknown): JobLogLine | undefined {
  if (!isRecord(value) || typeof value.dt !== "string" || !LOG_LEVELS.includes(value.lvl as JobLogLevel)) {
    return undefined;
  }
  return { dt: value.dt, lvl: value.lvl as JobLogLevel, msg: value.msg ?? null };
}

function parseLog(body: unknown): Parsed<JobLogBatch> {
  if (!isRecord(body)) return fail("job.log must be a mapping");
  const job = jobId(body);
  if (!job) return fail("job must be a job id");
  // Line numbers are stored as 32-bit integers: a batch reaching past them could never be stored.
  if (!Number.isSafeInteger(body.from) || (body.from as number) < 0 || (body.from as number) > MAX_LINE - MAX_RECORDS) {
    return fail(`from must be a line number up to ${MAX_LINE - MAX_RECORDS}`);
  }
  if (!Array.isArray(body.lines) || body.lines.length > MAX_RECORDS) {
    return fail(`lines must be a list of at most ${MAX_RECORDS} records`);
  }
  const lines: JobLogLine[] = [];
  for (const [index, value] of body.lines.entries()) {
    const line = parseLogLine(value);
    if (!line) return fail(`lines[${index}] is not a {dt, lvl, msg} record`);
    lines.push(line);
  }
  return { job, from: body.from as number, lines };
}

function parseEnd(body: unknown): Parsed<JobEnd> {
  if (!isRecord(body)) return fail("job.finished must be a mapping");
  const job = jobId(body);
  if (!job) return fail("job must be a job id");
  if (body.result !== "pass" && body.result !== "fail") return fail("result must be pass or fail");
  const fields: Record<string, string | undefined> = {};
  for (const key of ["errorType", "errorMsg", "description"]) {
    const value = optionalText(body, key);
    if (isProblem(value)) return value;
    fields[key] = value;
  }
  return {
    job,
    result: body.result,
    ...(fields.errorType !== undefined ? { errorType: fields.errorType } : {}),
    ...(fields.errorMsg !== undefined ? { errorMsg: fields.errorMsg } : {}),
    ...(fields.description !== undefined ? { description: fields.description } : {}),
  };
}

/** A worker's hello summary; anything unreadable becomes an empty one. */
export function parseWorkerSummary(value: unknown): WorkerSummary {
  const body = isRecord(value) ? value : {};
  return {
    version: typeof body.version === "string" ? body.version : "unknown",
    jobLimit: Number.isSafeInteger(body.jobLimit) && (body.jobLimit as number) >= 0 ? body.jobLimit as number : 0,
    running: Array.isArray(body.running) ? body.running.filter((j) => typeof j === "string" && JOB_ID.test(j)) : [],
    ...(parseCapabilities(body.capabilities) ? { capabilities: parseCapabilities(body.capabilities) } : {}),
  };
}

function parseConsole<F>(kind: string, parseFrame: (value: unknown) => F | ParseProblem) {
  return (body: unknown): Parsed<{ job: string; frame: F }> => {
    if (!isRecord(body)) return fail(`${kind} must be a mapping`);
    const job = jobId(body);
    if (!job) return fail("job must be a job id");
    const frame = parseFrame(body.frame);
    return isProblem(frame) ? fail(`frame: ${frame.problem}`) : { job, frame };
  };
}

export const labProtocol = defineProtocol({
  /** master → worker: run this job. */
  "job.start": parseStart,
  /** master → worker: cancel this job (SIGTERM, then SIGKILL; the device is powered off). */
  "job.cancel": parseJobOnly("job.cancel"),
  /** worker → master: the dispatch process is running. */
  "job.started": parseJobOnly("job.started"),
  /** worker → master: the worker will not run the job (at its job limit, or cannot start it). */
  "job.refused": parseRefused,
  /** worker → master: log lines, in order. */
  "job.log": parseLog,
  /** worker → master: the job ended. */
  "job.finished": parseEnd,
  /** worker → master, transient: a reservation's console, from the device's side. */
  "console.up": parseConsole<UpFrame>("console.up", parseUpFrame),
  /** master → worker, transient: a reservation's console, from its holder's side. */
  "console.down": parseConsole<DownFrame>("console.down", parseDownFrame),
}, { transient: ["console.up", "console.down"] });

export type LabProtocol = typeof labProtocol.parsers;
export type LabBody<K extends keyof LabProtocol> = BodyOf<LabProtocol, K>;

/** The address of the worker's job-running actor. */
export const WORKER_RUNS = "runs";
/** The address of a job's actor on the master. */
export const jobAddress = (job: string): string => `job/${job}`;
