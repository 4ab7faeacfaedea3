/**
 * LAVA's XML-RPC API at `/RPC2`, the methods `lavacli` and scripts built on
 * Python's `xmlrpc.client` call, with LAVA's argument orders, return shapes and
 * fault codes (400 bad request, 401 not logged in, 403 not allowed, 404 not
 * found). Every failure is a fault, never an HTTP error: lavacli retries HTTP
 * errors for ever while following logs.
 */
import { DeviceHealth, JobHealth, JobState, WorkerHealth } from "../../actors/domain/states.ts";
import { validateJob } from "../../actors/definitions/job_schema.ts";
import { BASALT_VERSION } from "../../actors/version.ts";
import { addLabDevice, addLabDeviceType, addLabWorker, setDictionary, updateWorkerConfig } from "../lab/admin.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../actors/machines/worker.ts";
import type { Lab } from "../lab/lab.ts";
import { casesAsCsv, casesAsYaml, exportCases, suiteSummary } from "../lab/results.ts";
import { clientErrorStatus } from "./errors.ts";
import {
  type Access,
  accessFor,
  assertDeviceVisible,
  assertVisible,
  definitionFor,
  jobLogs,
  listDevices,
  listDeviceTypes,
  listJobs,
  queuedJobs,
  resolveJobId,
  resubmitJob,
  showDevice,
  showJob,
  showWorker,
  visibleDevices,
} from "../lab/views.ts";
import { stringify } from "yaml";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import type { XmlRpcInput, XmlRpcValue } from "./xmlrpc.ts";
import type { User } from "../storage/schema.ts";

export class RpcFault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "RpcFault";
  }
}

export interface RpcContext {
  readonly lab: Lab;
  readonly user?: User;
  /** The event socket as clients should connect to it, e.g. `tcp://*:5500`. */
  readonly eventSocket: string;
}

type Handler = (ctx: RpcContext, params: XmlRpcValue[]) => Promise<XmlRpcInput> | XmlRpcInput;

interface Method {
  readonly help: string;
  readonly run: Handler;
}

/** A job the caller may see (LAVA's visibility), by id or sub-id. */
async function visibleJob(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<number> {
  const id = await resolveJobId(ctx.lab, given);
  await assertVisible(ctx.lab, id, ctx.user);
  return id;
}

/** The caller's standing under the lab's visibility rules. */
function access(ctx: RpcContext): Promise<Access> {
  return accessFor(ctx.lab, ctx.user);
}

/** A device the caller may see, by host name. */
async function visibleDevice(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<string> {
  const hostname = text(given, "hostname");
  assertDeviceVisible(ctx.lab, hostname, await access(ctx));
  return hostname;
}

/** A device type's name, unless the type is one the caller may not see (a template's name need not be a type). */
async function visibleType(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<string> {
  const name = text(given, "name");
  const { rules, rights } = await access(ctx);
  if (!rules.canViewDeviceType(rights, name)) throw new RpcFault(404, `Device-type '${name}' was not found.`);
  return name;
}

/** A job the caller submitted, or any job for an administrator. */
async function ownJob(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<number> {
  const user = loggedIn(ctx);
  const id = await visibleJob(ctx, given);
  const row = await ctx.lab.db.selectFrom("test_jobs").select("submitter_id").where("id", "=", id).executeTakeFirst();
  if (!user.is_superuser && row?.submitter_id !== user.id) {
    throw new RpcFault(403, `Permission denied for user ${user.username} to cancel job ${given}.`);
  }
  return id;
}

function loggedIn(ctx: RpcContext): User {
  if (!ctx.user) throw new RpcFault(401, "Authentication with user and token required for this API.");
  return ctx.user;
}

function superuser(ctx: RpcContext): User {
  const user = loggedIn(ctx);
  if (!user.is_superuser) throw new RpcFault(403, "Permission denied for user to this API.");
  return user;
}

function text(value: XmlRpcValue | undefined, name: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  throw new RpcFault(400, `${name} must be a string`);
}

function optionalText(value: XmlRpcValue | undefined): string | undefined {
  return value === null || value === undefined || value === "" ? undefined : text(value, "value");
}

function int(value: XmlRpcValue | undefined, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RpcFault(400, `${value} is not a number`);
  return n;
}

function codeOf(codes: { parse(input: string | number): number }, value: XmlRpcValue | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  try {
    return codes.parse(String(value));
  } catch (error) {
    throw new RpcFault(400, (error as Error).message);
  }
}

const METHODS: Record<string, Method> = {
  "system.version": { help: "the master's version", run: () => BASALT_VERSION },
  "system.api_version": { help: "the API's version (LAVA's is 2)", run: () => 2 },
  "system.whoami": { help: "the authenticated user's name, or nil", run: (ctx) => ctx.user?.username ?? null },
  "system.master_config": {
    help: "where events are published",
    run: (ctx) => ({
      EVENT_TOPIC: ctx.lab.events.topicPrefix,
      EVENT_SOCKET: ctx.eventSocket,
      EVENT_NOTIFICATION: true,
      LOG_SIZE_LIMIT: 0,
    }),
  },
  "system.listMethods": { help: "the methods of this API", run: () => Object.keys(METHODS).sort() },
  "system.methodHelp": { help: "what a method does", run: (_ctx, [name]) => METHODS[String(name)]?.help ?? "" },
  "system.methodSignature": { help: "not described", run: () => "signatures not supported" },
  "scheduler.get_publisher_event_socket": { help: "the ZeroMQ event socket", run: (ctx) => ctx.eventSocket },

  // --- jobs
  "scheduler.jobs.submit": {
    help: "submit a job definition (YAML); returns its id, or the sub-job ids of a MultiNode job",
    run: async (ctx, [definition]) => {
      const user = loggedIn(ctx);
      const jobs = await ctx.lab.submit(text(definition, "definition"), { id: user.id, username: user.username });
      return jobs.length === 1 && !jobs[0].group ? jobs[0].id : jobs.map((j) => j.displayId);
    },
  },
  "scheduler.jobs.resubmit": {
    help: "submit a job's definition again",
    run: async (ctx, [id]) => {
      const jobs = await resubmitJob(ctx.lab, id, loggedIn(ctx));
      return jobs.length === 1 && !jobs[0].group ? jobs[0].id : jobs.map((j) => j.displayId);
    },
  },
  "scheduler.jobs.cancel": {
    help: "cancel a job (a MultiNode job as a whole)",
    run: async (ctx, [id]) => {
      loggedIn(ctx);
      await ctx.lab.cancel(await ownJob(ctx, id), `cancelled by ${ctx.user!.username}`);
      return true;
    },
  },
  "scheduler.jobs.show": {
    help: "a job's details",
    run: async (ctx, [id]) => await showJob(ctx.lab, await visibleJob(ctx, id), "internal") as unknown as XmlRpcInput,
  },
  "scheduler.jobs.definition": {
    help: "a job's definition as submitted",
    run: async (ctx, [id]) => await definitionFor(ctx.lab, await resolveJobId(ctx.lab, id), ctx.user),
  },
  "scheduler.jobs.logs": {
    help: "log records [start, end) as YAML, and whether the job has finished",
    run: async (ctx, [id, start, end]) => {
      const result = await jobLogs(
        ctx.lab,
        await visibleJob(ctx, id),
        int(start, 0),
        end === null || end === undefined ? undefined : int(end, 0),
      );
      return [result.finished, result.yaml];
    },
  },
  "scheduler.jobs.list": {
    help: "jobs, newest first: (state, health, start, limit, since, verbose)",
    run: async (ctx, [state, health, start, limit, _since, verbose]) => {
      const jobs = await listJobs(ctx.lab, {
        state: codeOf(JobState, state),
        health: codeOf(JobHealth, health),
        start: int(start, 0),
        limit: Math.min(int(limit, 25), 100),
      }, ctx.user);
      return jobs.map((j) => ({
        id: j.id,
        description: j.description,
        device_type: j.device_type,
        health: j.health,
        state: j.state,
        submitter: j.submitter,
        ...(verbose
          ? {
            actual_device: j.device,
            start_time: j.start_time ? String(j.start_time.toISOString()) : null,
            end_time: j.end_time ? String(j.end_time.toISOString()) : null,
            error_msg: j.error_msg,
            error_type: j.error_type,
          }
          : {}),
      }));
    },
  },
  "scheduler.jobs.queue": {
    help: "queued jobs, next first: (device_types, start, limit)",
    run: async (ctx, [types, start, limit]) =>
      await queuedJobs(
        ctx.lab,
        ctx.user,
        Array.isArray(types) ? types.map(String) : null,
        int(start, 0),
        int(limit, 25),
      ),
  },
  "scheduler.jobs.validate": {
    help: "check a definition against the job schema: {} when valid, else {path, msg}",
    run: (_ctx, [definition, strict]) => {
      const result = validateJob(text(definition, "definition"), { strict: strict === true });
      if (result.valid) return {};
      const first = result.errors[0];
      return { path: first.path, msg: `${first.message} (line ${first.line}, column ${first.column})` };
    },
  },
  "scheduler.submit_job": {
    help: "LAVA's old name of scheduler.jobs.submit",
    run: (ctx, p) => METHODS["scheduler.jobs.submit"].run(ctx, p),
  },
  "scheduler.cancel_job": {
    help: "LAVA's old name of scheduler.jobs.cancel",
    run: (ctx, p) => METHODS["scheduler.jobs.cancel"].run(ctx, p),
  },

  // --- devices
  "scheduler.devices.list": {
    help: "devices (all: include retired ones)",
    run: async (ctx, [all]) => await listDevices(ctx.lab, all === true, await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.devices.show": {
    help: "a device's details",
    run: async (ctx, [hostname]) =>
      await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.devices.add": {
    help: "add a device: (hostname, device_type, worker, user, group, public, health, description)",
    run: async (ctx, [hostname, type, worker, _user, _group, _public, health, description]) => {
      superuser(ctx);
      await addLabDevice(ctx.lab, {
        hostname: text(hostname, "hostname"),
        deviceType: text(type, "device_type"),
        worker: text(worker, "worker"),
        health: optionalText(health),
        description: optionalText(description),
      });
      return true;
    },
  },
  "scheduler.devices.update": {
    help: "change a device: (hostname, worker, user, group, public, health, description)",
    run: (ctx, [hostname, _worker, _user, _group, _public, health, _description]) => {
      const user = superuser(ctx);
      const host = text(hostname, "hostname");
      const code = codeOf(DeviceHealth, health);
      if (code !== undefined) {
        ctx.lab.setDeviceHealth(host, DeviceHealth.name(code) as DeviceHealthName, `set by ${user.username}`);
      }
      return true;
    },
  },
  "scheduler.devices.get_dictionary": {
    help: "a device's dictionary, or (render=true) its configuration rendered with a job context",
    run: async (ctx, [hostname, render, context]) => {
      const host = await visibleDevice(ctx, hostname);
      const info = ctx.lab.catalog.devices.get(host);
      if (!info) throw new RpcFault(404, `Device '${host}' was not found.`);
      const dictionary = info.dictionary ?? ctx.lab.labDir.dictionaryFile(host);
      if (dictionary === undefined) throw new RpcFault(404, `Device '${host}' does not have a configuration`);
      if (render !== true) return dictionary;
      const jobContext = typeof context === "string" && context.trim() ? parseContext(context) : {};
      try {
        return ctx.lab.labDir.render(info, jobContext);
      } catch (error) {
        throw new RpcFault(400, (error as Error).message);
      }
    },
  },
  "scheduler.devices.set_dictionary": {
    help: "store a device's dictionary",
    run: async (ctx, [hostname, dictionary]) => {
      superuser(ctx);
      await setDictionary(ctx.lab, text(hostname, "hostname"), text(dictionary, "dictionary"));
      return true;
    },
  },
  "scheduler.devices.tags.list": {
    help: "a device's tags",
    run: async (ctx, [hostname]) => (await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx))).tags,
  },

  // --- device types
  "scheduler.device_types.list": {
    help: "device types with their device counts",
    run: async (ctx, [all]) => listDeviceTypes(ctx.lab, all === true, await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.device_types.show": {
    help: "a device type",
    run: async (ctx, [name]) => {
      const seen = await access(ctx);
      const type = listDeviceTypes(ctx.lab, true, seen).find((t) => t.name === text(name, "name"));
      if (!type) throw new RpcFault(404, `Device-type '${name}' was not found.`);
      return { ...type, devices: visibleDevices(ctx.lab, seen, { deviceType: type.name }) };
    },
  },
  "scheduler.device_types.add": {
    help: "add a device type: (name, description, display, owners_only, health_frequency, health_denominator)",
    run: async (ctx, [name, description, _display, _owners, frequency, denominator]) => {
      superuser(ctx);
      await addLabDeviceType(ctx.lab, {
        name: text(name, "name"),
        description: optionalText(description),
        healthFrequency: frequency === null || frequency === undefined ? undefined : int(frequency, 24),
        healthDenominator: denominator === "jobs" ? "jobs" : denominator === "hours" ? "hours" : undefined,
      });
      return true;
    },
  },
  "scheduler.device_types.get_health_check": {
    help: "a device type's health-check job",
    run: async (ctx, [name]) => {
      const check = ctx.lab.labDir.healthCheck(await visibleType(ctx, name));
      if (check === undefined) throw new RpcFault(404, `Device-type '${name}' has no health check`);
      return check;
    },
  },
  "scheduler.device_types.set_health_check": {
    help: "store a device type's health-check job",
    run: (ctx, [name, definition]) => {
      superuser(ctx);
      ctx.lab.labDir.setHealthCheck(text(name, "name"), text(definition, "definition"));
      return true;
    },
  },
  "scheduler.device_types.get_template": {
    help: "a device type's template",
    run: async (ctx, [name]) => {
      const template = ctx.lab.labDir.template(await visibleType(ctx, name));
      if (template === undefined) throw new RpcFault(404, `Device-type '${name}' has no template`);
      return template;
    },
  },
  "scheduler.device_types.set_template": {
    help: "store a device type's template",
    run: (ctx, [name, template]) => {
      superuser(ctx);
      ctx.lab.labDir.setTemplate(text(name, "name"), text(template, "template"));
      return true;
    },
  },

  // --- workers
  "scheduler.workers.list": {
    help: "worker host names",
    run: (ctx) => [...ctx.lab.catalog.workers.keys()].sort(),
  },
  "scheduler.workers.show": {
    help: "a worker's details",
    run: async (ctx, [hostname]) =>
      await showWorker(ctx.lab, text(hostname, "hostname"), await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.workers.add": {
    help: "add a worker: (hostname, description, disabled)",
    run: async (ctx, [hostname, description]) => {
      superuser(ctx);
      await addLabWorker(ctx.lab, text(hostname, "hostname"), optionalText(description) ?? "");
      return true;
    },
  },
  "scheduler.workers.update": {
    help: "change a worker: (hostname, description, health, job_limit)",
    run: async (ctx, [hostname, description, health, jobLimit]) => {
      superuser(ctx);
      const host = text(hostname, "hostname");
      await updateWorkerConfig(ctx.lab, host, {
        description: optionalText(description),
        jobLimit: jobLimit === null || jobLimit === undefined ? undefined : int(jobLimit, 0),
      });
      const code = codeOf(WorkerHealth, health);
      if (code !== undefined) ctx.lab.setWorkerHealth(host, WorkerHealth.name(code) as WorkerHealthName);
      return true;
    },
  },
  "scheduler.workers.get_config": {
    help: "a worker's dispatcher configuration",
    run: (ctx, [hostname]) => workerInfo(ctx, hostname).dispatcherConfig,
  },
  "scheduler.workers.set_config": {
    help: "store a worker's dispatcher configuration",
    run: async (ctx, [hostname, config]) => {
      superuser(ctx);
      await updateWorkerConfig(ctx.lab, text(hostname, "hostname"), { dispatcherConfig: text(config, "config") });
      return true;
    },
  },
  "scheduler.workers.get_env": { help: "a worker's env.yaml", run: (ctx, [hostname]) => workerInfo(ctx, hostname).env },
  "scheduler.workers.get_env_dut": {
    help: "a worker's env-dut.yaml",
    run: (ctx, [hostname]) => workerInfo(ctx, hostname).envDut,
  },
  "scheduler.workers.set_env_dut": {
    help: "store a worker's env-dut.yaml",
    run: async (ctx, [hostname, env]) => {
      superuser(ctx);
      await updateWorkerConfig(ctx.lab, text(hostname, "hostname"), { envDut: text(env, "env") });
      return true;
    },
  },

  // --- tags
  "scheduler.tags.list": {
    help: "tags",
    run: async (ctx) =>
      (await ctx.lab.db.selectFrom("tags").selectAll().orderBy("name").execute()).map((t) => ({
        name: t.name,
        description: t.description,
      })),
  },

  // --- results
  "results.get_testjob_results_yaml": {
    help: "every test case of a job, as YAML",
    run: async (ctx, [job]) => casesAsYaml(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_results_csv": {
    help: "every test case of a job, as CSV",
    run: async (ctx, [job]) => casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testsuite_results_yaml": {
    help: "the test cases of one suite: (job, suite, limit, offset)",
    run: async (ctx, [job, suite, limit, offset]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          limit: limit === null || limit === undefined ? undefined : int(limit, 0),
          offset: int(offset, 0),
        }),
      ),
  },
  "results.get_testsuite_results_csv": {
    help: "the test cases of one suite, as CSV",
    run: async (ctx, [job, suite]) =>
      casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })),
  },
  "results.get_testsuite_results_count": {
    help: "how many test cases a suite has",
    run: async (ctx, [job, suite]) =>
      (await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })).length,
  },
  "results.get_testcase_results_yaml": {
    help: "one test case: (job, suite, case)",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testcase_results_csv": {
    help: "one test case, as CSV",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsCsv(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testjob_suites_list_yaml": {
    help: "a job's suites",
    run: async (ctx, [job]) => stringify(await suiteSummary(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_metadata": {
    help: "a job's metadata",
    run: async (ctx, [job]) => {
      const id = await visibleJob(ctx, job);
      const row = await ctx.lab.db.selectFrom("test_jobs").select("metadata").where("id", "=", id).executeTakeFirst();
      return (row?.metadata ?? {}) as XmlRpcInput;
    },
  },
};

function workerInfo(ctx: RpcContext, hostname: XmlRpcValue | undefined) {
  const info = ctx.lab.catalog.workers.get(text(hostname, "hostname"));
  if (!info) throw new RpcFault(404, `Worker '${hostname}' was not found.`);
  return info;
}

/** A job context given as YAML (or JSON, which is YAML). */
function parseContext(text: string): Record<string, unknown> {
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0 || !isMapping(loaded.value)) throw new RpcFault(400, "the context must be a mapping");
  return loaded.value as Record<string, unknown>;
}

/** Runs one call; every failure becomes a fault with LAVA's codes. */
export async function callMethod(ctx: RpcContext, method: string, params: XmlRpcValue[]): Promise<XmlRpcInput> {
  const entry = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (!entry) throw new RpcFault(-32601, `method "${method}" is not supported`);
  try {
    return await entry.run(ctx, params);
  } catch (error) {
    if (error instanceof RpcFault) throw error;
    const status = clientErrorStatus(error);
    if (status !== undefined) throw new RpcFault(status, (error as Error).message);
    if (error instanceof Error && /already exists|not valid|does not exist|unknown/.test(error.message)) {
      throw new RpcFault(400, error.message);
    }
    throw error;
  }
}
