/**
 * LAVA's older flat `scheduler.*` methods, still called by lab scripts:
 * device and device-type summaries, a job's status, details and output, recent
 * jobs, maintenance and online modes, device configuration and dictionaries,
 * validation — with LAVA 2023.01's arguments, return shapes and faults.
 */
import { stringify } from "yaml";
import { validateJob } from "../../../actors/definitions/job_schema.ts";
import { loadYaml } from "../../../actors/definitions/yaml.ts";
import { JobHealth, JobState, LegacyJobStatus, legacyJobStatus } from "../../../actors/domain/states.ts";
import { requireChangeDevice } from "../../lab/admin/authority.ts";
import { setDictionary, updateLabDevice } from "../../lab/admin/devices.ts";
import { DeviceConfigurationError } from "../../lab/lab_dir.ts";
import { validateDeviceYaml } from "../../../actors/definitions/device_schema.ts";
import { lavaLogLine, readLogLines } from "../../storage/job_logs.ts";
import { deviceDictionary, listDevices, listDeviceTypes, showDevice } from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import { access, int, loggedIn, type Method, type RpcContext, RpcFault, text, visibleJob } from "./context.ts";
import { JOB_METHODS } from "./jobs.ts";

/** LAVA's one-word device status: idle, offline, retired, reserved or running. */
function deviceStatusWord(state: string, health: string): string {
  if (state === "Idle") {
    if (health === "Good" || health === "Unknown") return "idle";
    return health === "Retired" ? "retired" : "offline";
  }
  return state === "Reserved" ? "reserved" : "running";
}

/** Text as `xmlrpc.client.Binary`, as LAVA returns logs and configurations. */
function binary(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function legacyStatusName(state: number, health: number): string {
  return LegacyJobStatus.name(legacyJobStatus(state, health));
}

/** A job by id or sub-id that the caller may see; LAVA says 403 where Basalt's visibility would hide it. */
async function jobRow(ctx: RpcContext, given: unknown) {
  const id = await visibleJob(ctx, given as string);
  return await ctx.lab.db.selectFrom("test_jobs as j").leftJoin("users as u", "u.id", "j.submitter_id")
    .selectAll("j").select("u.username").where("j.id", "=", id).executeTakeFirstOrThrow();
}

/** One of LAVA's one-field job calls: the fields, and the sub-id for a MultiNode job. */
function jobField(
  shape: string,
  fields: (job: Awaited<ReturnType<typeof jobRow>>) => Record<string, XmlRpcInput>,
): Method {
  return {
    help: `${shape} (and sub_id for a MultiNode job)`,
    run: async (ctx, [id]) => {
      const job = await jobRow(ctx, id);
      return { ...fields(job), ...(job.target_group ? { sub_id: job.sub_id } : {}) };
    },
  };
}

async function recentJobs(
  ctx: RpcContext,
  where: { deviceType?: string; device?: string },
  count: number,
  mine: boolean,
) {
  const { rules, rights } = await access(ctx);
  let query = ctx.lab.db.selectFrom("test_jobs as j")
    .select(["j.id", "j.description", "j.state", "j.health", "j.actual_device"])
    .where("j.state", "=", JobState.byName.Finished).orderBy("j.id", "desc").limit(Math.min(count, 1000));
  if (!rights.superuser) query = query.where(rules.jobCondition(rights));
  if (where.deviceType) query = query.where("j.requested_device_type", "=", where.deviceType);
  if (where.device) query = query.where("j.actual_device", "=", where.device);
  if (mine) query = query.where("j.submitter_id", "=", loggedIn(ctx).id);
  return await query.execute();
}

function count(value: unknown): number {
  if (value === null || value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new RpcFault(400, "Bad request: count must be an integer.");
  if (n < 0) throw new RpcFault(400, "Bad request: count must not be negative.");
  return n;
}

function changeHealth(mode: "maintenance" | "online"): Method {
  return {
    help: mode === "maintenance"
      ? "put a device into Maintenance: (hostname, reason, notify)"
      : "put a device back online (Unknown: it runs a health check first): (hostname, reason, skip_health_check)",
    run: async (ctx, [hostname, reason]) => {
      const user = loggedIn(ctx);
      if (!hostname) throw new RpcFault(400, "Bad request: Hostname was not specified.");
      if (!reason) throw new RpcFault(400, "Bad request: Reason was not specified.");
      const host = text(hostname, "hostname");
      if (!ctx.lab.catalog.devices.has(host)) throw new RpcFault(404, `Device '${host}' was not found.`);
      try {
        requireChangeDevice(ctx.lab, user, host);
      } catch {
        throw new RpcFault(403, `Permission denied for user to put ${host} into ${mode} mode.`);
      }
      await updateLabDevice(ctx.lab, user, host, {
        health: mode === "maintenance" ? "Maintenance" : "Unknown",
        reason: text(reason, "reason").slice(0, 500),
      });
      return null;
    },
  };
}

export const LEGACY_METHODS: Record<string, Method> = {
  "scheduler.resubmit_job": {
    help: "LAVA's old name of scheduler.jobs.resubmit",
    run: JOB_METHODS["scheduler.jobs.resubmit"].run,
  },
  "scheduler.all_devices": {
    help: "[hostname, device type, status, current job, pipeline] of every device not retired",
    run: async (ctx) =>
      (await listDevices(ctx.lab, false, await access(ctx))).map((
        d,
      ) => [d.hostname, d.device_type, deviceStatusWord(d.state, d.health), d.current_job, true]),
  },
  "scheduler.all_device_types": {
    help: "{name, busy, idle, offline} of every device type with a device not retired (Maintenance counts nowhere)",
    run: async (ctx) => {
      const view = await access(ctx);
      const devices = await listDevices(ctx.lab, false, view);
      const online = (worker: string | null) => worker !== null && ctx.lab.workerStatus(worker)?.state === "Online";
      return listDeviceTypes(ctx.lab, true, view).flatMap((t) => {
        const own = devices.filter((d) => d.device_type === t.name);
        if (own.length === 0) return [];
        const fine = (d: (typeof own)[number]) => d.health === "Good" || d.health === "Unknown";
        return [{
          name: t.name,
          busy: own.filter((d) => d.state !== "Idle").length,
          idle: own.filter((d) => d.state === "Idle" && fine(d) && online(d.worker)).length,
          offline: own.filter((d) =>
            d.state === "Idle" && d.health !== "Maintenance" && (!online(d.worker) || !fine(d))
          ).length,
        }];
      });
    },
  },
  "scheduler.get_recent_jobs_for_device_type": {
    help: "the last finished jobs of a device type: (device_type, count=1, restrict_to_user=False)",
    run: async (ctx, [deviceType, n, mine]) => {
      if (!deviceType) throw new RpcFault(400, "Bad request: device_type was not specified.");
      const name = text(deviceType, "device_type");
      const limit = count(n);
      const type = ctx.lab.catalog.deviceTypes.get(name);
      const view = await access(ctx);
      if (!type?.display || !view.rules.canViewDeviceType(view.rights, name)) {
        throw new RpcFault(404, `DeviceType '${name}' was not found.`);
      }
      return (await recentJobs(ctx, { deviceType: name }, limit, mine === true)).map((j) => ({
        id: j.id,
        description: j.description,
        status: legacyStatusName(j.state, j.health),
        device: j.actual_device ?? "",
      }));
    },
  },
  "scheduler.get_recent_jobs_for_device": {
    help: "the last finished jobs of a device: (device, count=1, restrict_to_user=False)",
    run: async (ctx, [device, n, mine]) => {
      if (!device) throw new RpcFault(400, "Bad request: device was not specified.");
      const host = text(device, "device");
      const limit = count(n);
      if (!ctx.lab.catalog.devices.has(host)) throw new RpcFault(404, `Device '${host}' was not found.`);
      const view = await access(ctx);
      if (!view.rules.canViewDevice(view.rights, host)) {
        throw new RpcFault(403, `Device '${host}' not available to user '${ctx.user?.username ?? "AnonymousUser"}'.`);
      }
      return (await recentJobs(ctx, { device: host }, limit, mine === true)).map((j) => ({
        id: j.id,
        description: j.description,
        status: legacyStatusName(j.state, j.health),
      }));
    },
  },
  "scheduler.get_device_type_by_alias": {
    help: "{alias: [device types whose aliases contain it]}",
    run: async (ctx, [alias]) => {
      const name = text(alias, "alias");
      const view = await access(ctx);
      const types = [...ctx.lab.catalog.aliases.entries()]
        .filter(([a, t]) => a.includes(name) && view.rules.canViewDeviceType(view.rights, t)).map(([, t]) => t);
      return { [name]: [...new Set(types)] };
    },
  },
  "scheduler.get_device_status": {
    help: "{hostname, status, job, offline_since, offline_by, is_pipeline} of a device",
    run: async (ctx, [hostname]) => {
      if (!hostname) throw new RpcFault(400, "Bad request: Hostname was not specified.");
      const host = text(hostname, "hostname");
      if (!ctx.lab.catalog.devices.has(host)) throw new RpcFault(404, `Device '${host}' was not found.`);
      const view = await access(ctx);
      if (!view.rules.canViewDevice(view.rights, host)) {
        throw new RpcFault(403, `Permission denied for user to access ${host} information.`);
      }
      const device = await showDevice(ctx.lab, host, view);
      return {
        hostname: host,
        status: deviceStatusWord(device.state, device.health),
        job: device.current_job,
        offline_since: null,
        offline_by: null,
        is_pipeline: true,
      };
    },
  },
  "scheduler.put_into_maintenance_mode": changeHealth("maintenance"),
  "scheduler.put_into_online_mode": changeHealth("online"),
  "scheduler.pending_jobs_by_device_type": {
    help: "{device type: queued jobs} for the device types shown (all=True: every type)",
    run: async (ctx, [all]) => {
      const view = await access(ctx);
      let query = ctx.lab.db.selectFrom("test_jobs as j")
        .select(["j.requested_device_type", (eb) => eb.fn.countAll<string>().as("n")])
        .where("j.state", "=", JobState.byName.Submitted).where("j.requested_device_type", "is not", null)
        .groupBy("j.requested_device_type");
      if (!view.rights.superuser) query = query.where(view.rules.jobCondition(view.rights));
      const pending: Record<string, number> = {};
      for (const row of await query.execute()) pending[row.requested_device_type!] = Number(row.n);
      for (const type of listDeviceTypes(ctx.lab, all === true, view)) pending[type.name] ??= 0;
      return pending;
    },
  },
  "scheduler.job_details": {
    help: "a job's fields as LAVA's model has them, with status, state, health and submitter_username",
    run: async (ctx, [id]) => {
      const job = await jobRow(ctx, id);
      const { username, token_hash: _t, metadata: _m, required_methods: _r, pipeline_description: _p, ...fields } = job;
      return {
        ...fields,
        requested_device_type_id: job.requested_device_type,
        actual_device_id: job.actual_device,
        status: legacyStatusName(job.state, job.health),
        state: JobState.name(job.state),
        health: JobHealth.name(job.health),
        submitter_username: username ?? "",
        absolute_url: `/scheduler/job/${job.sub_id || job.id}`,
        is_pipeline: true,
      } as unknown as XmlRpcInput;
    },
  },
  "scheduler.job_health": jobField("{job_id, job_health}", (j) => ({
    job_id: j.id,
    job_health: JobHealth.name(j.health),
  })),
  "scheduler.job_state": jobField("{job_id, job_state}", (j) => ({
    job_id: j.id,
    job_state: JobState.name(j.state),
  })),
  "scheduler.job_status": jobField(
    "{job_status, bundle_sha1}: LAVA's older status call (gone from 2023.01, still in scripts)",
    (j) => ({ job_status: legacyStatusName(j.state, j.health), bundle_sha1: "" }),
  ),
  "scheduler.job_output": {
    help: "a job's log (LAVA's YAML) from byte `offset`, as binary: (job_id, offset=0)",
    run: async (ctx, [id, offset]) => {
      const job = await jobRow(ctx, id);
      const lines = await readLogLines(ctx.lab.db, job.id, { limit: 200_000 });
      if (lines.length === 0) throw new RpcFault(404, "Job output not found.");
      const bytes = new TextEncoder().encode(lines.map(lavaLogLine).join("\n") + "\n");
      return bytes.slice(Math.min(int(offset, 0), bytes.length));
    },
  },
  "scheduler.all_jobs": {
    help: "[id, description, status, device, device type, sub_id] of every unfinished job, newest first",
    run: async (ctx) => {
      const view = await access(ctx);
      let query = ctx.lab.db.selectFrom("test_jobs as j")
        .select([
          "j.id",
          "j.description",
          "j.state",
          "j.health",
          "j.actual_device",
          "j.requested_device_type",
          "j.sub_id",
        ])
        .where("j.state", "!=", JobState.byName.Finished).orderBy("j.id", "desc").limit(10_000);
      if (!view.rights.superuser) query = query.where(view.rules.jobCondition(view.rights));
      return (await query.execute()).map((j) => [
        j.id,
        j.description,
        legacyStatusName(j.state, j.health).toLowerCase(),
        j.actual_device,
        j.requested_device_type,
        j.sub_id,
      ]);
    },
  },
  "scheduler.get_device_config": {
    help: "a device's configuration rendered (with a job context in YAML), as binary: (hostname, context=None)",
    run: async (ctx, [hostname, context]) => {
      if (!hostname) throw new RpcFault(400, "Bad request: Device hostname was not specified.");
      let jobContext: Record<string, unknown> = {};
      if (context !== null && context !== undefined) {
        const loaded = loadYaml(text(context, "context"));
        if (loaded.errors.length > 0) {
          throw new RpcFault(400, `Job context '${context}' is not valid. ${loaded.errors[0].message}`);
        }
        jobContext = (loaded.value ?? {}) as Record<string, unknown>;
      }
      const host = text(hostname, "hostname");
      const info = ctx.lab.catalog.devices.get(host);
      if (!info) throw new RpcFault(404, "Specified device was not found.");
      const view = await access(ctx);
      if (!view.rules.canViewDevice(view.rights, host)) {
        throw new RpcFault(401, `Permission denied for user to device ${host}`);
      }
      try {
        return binary(ctx.lab.labDir.render(info, jobContext));
      } catch (error) {
        if (error instanceof DeviceConfigurationError) throw new RpcFault(400, error.message);
        throw error;
      }
    },
  },
  "scheduler.import_device_dictionary": {
    help: "store a device's dictionary: (hostname, jinja_str)",
    run: async (ctx, [hostname, dictionary]) => {
      const user = loggedIn(ctx);
      const host = text(hostname, "hostname");
      if (!ctx.lab.catalog.devices.has(host)) throw new RpcFault(404, `Device '${host}' was not found.`);
      try {
        requireChangeDevice(ctx.lab, user, host);
      } catch {
        throw new RpcFault(403, `Permission denied for user to store the configuration for ${host} on disk.`);
      }
      await setDictionary(ctx.lab, user, host, text(dictionary, "jinja_str"));
      return `Device dictionary updated for ${host}`;
    },
  },
  "scheduler.export_device_dictionary": {
    help: "a device's dictionary, as binary",
    run: (ctx, [hostname]) => {
      const user = loggedIn(ctx);
      const host = text(hostname, "hostname");
      if (!ctx.lab.catalog.devices.has(host)) throw new RpcFault(404, `Device '${host}' was not found.`);
      try {
        requireChangeDevice(ctx.lab, user, host);
      } catch {
        throw new RpcFault(403, `Permission denied for user to retrieve device dictionary for '${host}'.`);
      }
      const dictionary = deviceDictionary(ctx.lab, host);
      if (!dictionary) throw new RpcFault(404, `Device '${host}' does not have a device dictionary`);
      return binary(dictionary);
    },
  },
  "scheduler.validate_pipeline_devices": {
    help: "whether each device (of a type or host name) renders a valid configuration, as binary YAML",
    run: async (ctx, [name]) => {
      const view = await access(ctx);
      const all = await listDevices(ctx.lab, false, view);
      const wanted = name ? text(name, "name") : undefined;
      let devices = wanted ? all.filter((d) => d.device_type === wanted) : all;
      if (wanted && devices.length === 0) devices = all.filter((d) => d.hostname === wanted);
      if (devices.length === 0) {
        throw new RpcFault(
          404,
          wanted
            ? `No devices found with hostname or device type name ${wanted}, visible by the user`
            : "No pipeline devices visible by user were found on this instance.",
        );
      }
      const results: Record<string, unknown> = {};
      for (const d of devices) {
        const info = ctx.lab.catalog.devices.get(d.hostname)!;
        if (deviceDictionary(ctx.lab, d.hostname) === undefined) {
          results[d.hostname] = { Invalid: "Missing device dictionary" };
          continue;
        }
        try {
          const checked = validateDeviceYaml(ctx.lab.labDir.render(info));
          results[d.hostname] = checked.valid
            ? { Valid: null }
            : { Invalid: checked.errors.map((e) => `${e.path}: ${e.message}`).join("; ") };
        } catch (error) {
          results[d.hostname] = { Invalid: (error as Error).message };
        }
      }
      return binary(stringify(results));
    },
  },
  "scheduler.validate_yaml": {
    help: "check a job definition; a fault says what is wrong",
    run: (_ctx, [definition]) => {
      const result = validateJob(text(definition, "yaml_string"));
      if (!result.valid) {
        const first = result.errors[0];
        throw new RpcFault(
          400,
          `Invalid YAML submission: ${first.message} (line ${first.line}, column ${first.column})`,
        );
      }
      return null;
    },
  },
};
