/**
 * The lab in LAVA's REST API v0.2: `devices/` (with their dictionaries and
 * health), `devicetypes/` (with their templates and health checks),
 * `workers/` (with their environment and dispatcher configuration),
 * `aliases/`, `tags/` and `system/`. Lists are the catalog's, filtered by
 * what the caller may see; changes go through the lab's admin layer, which
 * checks LAVA's permissions.
 */
import type { Context, Hono } from "hono";
import { BASALT_VERSION } from "../../../actors/version.ts";
import { DeviceHealth, WorkerHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { requireAdministrator } from "../../lab/admin/authority.ts";
import { addLabAlias, deleteLabAlias } from "../../lab/admin/device_types.ts";
import { setDictionary, updateLabDevice } from "../../lab/admin/devices.ts";
import { addLabTag, deleteLabTag } from "../../lab/admin/tags.ts";
import { updateLabWorker } from "../../lab/admin/workers.ts";
import type { Lab } from "../../lab/lab.ts";
import {
  accessFor,
  assertDeviceTypeVisible,
  assertDeviceVisible,
  deviceDictionary,
  listDevices,
  listDeviceTypes,
  listWorkers,
  previewDictionary,
  restTime,
} from "../../views/mod.ts";
import type { HttpEnv } from "../env.ts";
import { BODY_LIMITS, readBodyText } from "../body.ts";
import { loadYaml } from "../../../actors/definitions/yaml.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { DeviceConfigurationError } from "../../lab/lab_dir.ts";
import { extendedTemplate } from "../../devices/dictionary.ts";
import { paginatedList, requestData, requiredText, RestError, superuser, writer } from "./shape.ts";

function yamlText(c: Context<HttpEnv>, text: string | undefined, filename: string) {
  if (text === undefined) throw new RestError(404, "Not found.");
  return c.body(text, 200, {
    "Content-Type": "application/yaml",
    "Content-Disposition": `attachment; filename=${filename}`,
  });
}

/** Tags by name → their id, as LAVA's serializers name a device's and a job's tags. */
export async function tagIdsByName(lab: Lab): Promise<Map<string, number>> {
  const rows = await lab.db.selectFrom("tags").select(["id", "name"]).execute();
  return new Map(rows.map((t) => [t.name, Number(t.id)]));
}

/** `?field=value` over the plain fields of an in-memory list (exact matches only). */
function exactFilter<T extends Record<string, unknown>>(
  c: Context<HttpEnv>,
  rows: T[],
  fields: readonly string[],
): T[] {
  const query = c.req.query();
  return rows.filter((row) =>
    fields.every((f) =>
      query[f] === undefined || String(row[f] ?? "") === query[f] ||
      (Array.isArray(row[f]) && (row[f] as unknown[]).map(String).includes(query[f]))
    )
  );
}

/** A display name of `codes` from the request's `field`, or DRF's 400 for the field. */
function choice(
  codes: { parse(input: string): number; name(code: number): string },
  data: Record<string, unknown>,
  field: string,
) {
  const text = requiredText(data, field);
  try {
    return codes.name(codes.parse(text));
  } catch {
    throw new RestError(400, field, { [field]: [`"${text}" is not a valid choice.`] });
  }
}

/** devices as the v0.2 serializer shows them, those the caller may see. */
export async function devicesV02(lab: Lab, c: Context<HttpEnv>) {
  const access = await accessFor(lab, c.get("user"));
  const tagIds = await tagIdsByName(lab);
  return (await listDevices(lab, true, access)).map((d) => ({
    hostname: d.hostname,
    device_type: d.device_type,
    device_version: null,
    physical_owner: d.physical_owner,
    physical_group: d.physical_group,
    description: d.description,
    tags: d.tags.map((t) => tagIds.get(t)).filter((id) => id !== undefined),
    state: d.state,
    health: d.health,
    last_health_report_job: lab.catalog.devices.get(d.hostname)?.lastHealthReportJob ?? null,
    worker_host: d.worker,
    is_synced: false,
  }));
}

/** deviceTypes as the v0.2 serializer shows them, those the caller may see. */
export async function deviceTypesV02(lab: Lab, c: Context<HttpEnv>) {
  const access = await accessFor(lab, c.get("user"));
  return listDeviceTypes(lab, true, access).map((t) => ({
    name: t.name,
    architecture: null,
    processor: null,
    cpu_model: null,
    aliases: t.aliases,
    bits: null,
    cores: [],
    core_count: null,
    description: t.description,
    health_frequency: t.health_frequency,
    disable_health_check: t.health_disabled,
    health_denominator: t.health_denominator,
    display: lab.catalog.deviceTypes.get(t.name)?.display ?? true,
  }));
}

/** workers as the v0.2 serializer shows them, those the caller may see. */
export async function workersV02(lab: Lab, c: Context<HttpEnv>) {
  const access = await accessFor(lab, c.get("user"));
  return (await listWorkers(lab, access)).map((w) => ({
    hostname: w.hostname,
    description: w.description,
    state: w.state,
    health: w.health,
    last_ping: restTime(w.last_ping),
    job_limit: w.job_limit,
    version: w.version || null,
    master_version_notified: null,
    ...(c.get("user")?.is_superuser ? { token: null } : {}),
  }));
}

export function labRoutesV02(api: Hono<HttpEnv>, lab: Lab, eventSocket: string): void {
  const access = (c: Context<HttpEnv>) => accessFor(lab, c.get("user"));

  api.get(
    "/devices/",
    async (c) =>
      c.json(
        paginatedList(
          c,
          exactFilter(c, await devicesV02(lab, c), [
            "hostname",
            "device_type",
            "state",
            "health",
            "worker_host",
            "tags",
          ]),
        ),
      ),
  );
  api.get("/devices/:hostname/", async (c) => {
    const device = (await devicesV02(lab, c)).find((d) => d.hostname === c.req.param("hostname"));
    if (!device) throw new RestError(404, "Not found.");
    return c.json(device);
  });
  api.get("/devices/:hostname/dictionary/", async (c) => {
    const hostname = c.req.param("hostname");
    assertDeviceVisible(lab, hostname, await access(c));
    const dictionary = deviceDictionary(lab, hostname);
    if (dictionary === undefined) throw new RestError(400, `Device '${hostname}' does not have a configuration`);
    const render = c.req.query("render");
    if (!render) {
      return c.body(dictionary, 200, {
        "Content-Type": "text/plain",
        "Content-Disposition": `attachment; filename=${hostname}.jinja2`,
      });
    }
    const context = c.req.query("context");
    let jobContext: Record<string, unknown> = {};
    if (context) {
      const loaded = loadYaml(context);
      if (loaded.errors.length > 0 || (loaded.value !== null && !isMapping(loaded.value))) {
        throw new RestError(
          400,
          `Job Context '${context}' is not valid: ${loaded.errors[0]?.message ?? "not a mapping"}`,
        );
      }
      jobContext = (loaded.value ?? {}) as Record<string, unknown>;
    }
    try {
      return c.body(lab.labDir.render(lab.catalog.devices.get(hostname)!, jobContext), 200, {
        "Content-Type": "application/yaml",
        "Content-Disposition": `attachment; filename=${hostname}.yaml`,
      });
    } catch (error) {
      if (error instanceof DeviceConfigurationError) throw new RestError(400, error.message);
      throw error;
    }
  });
  api.post("/devices/:hostname/dictionary/", async (c) => {
    const user = writer(c);
    await setDictionary(lab, user, c.req.param("hostname"), requiredText(await requestData(c), "dictionary"));
    return c.json({ message: "device config successfully updated" });
  });
  api.post("/devices/validate/", async (c) => {
    const text = await readBodyText(c.req.raw, BODY_LIMITS.dictionary);
    if (!text.trim()) throw new RestError(400, "device", { device: "Device dictionary is required." });
    const type = (extendedTemplate(text) ?? "").replace(/\.jinja2$/, "");
    const preview = previewDictionary(lab, "validate", type, text);
    return c.json({
      message: preview.ok ? "Device dictionary valid." : `Device dictionary invalid: ${preview.problems.join("; ")}`,
    });
  });
  api.post("/devices/:hostname/set_health/", async (c) => {
    const user = writer(c);
    const data = await requestData(c);
    await updateLabDevice(lab, user, c.req.param("hostname"), {
      health: choice(DeviceHealth, data, "health") as DeviceHealthName,
      reason: typeof data.reason === "string" ? data.reason.slice(0, 500) : undefined,
    });
    return c.json({ message: "OK" }, 202);
  });

  api.get(
    "/devicetypes/",
    async (c) =>
      c.json(paginatedList(c, exactFilter(c, await deviceTypesV02(lab, c), ["name", "display", "health_denominator"]))),
  );
  api.get("/devicetypes/:name/", async (c) => {
    const type = (await deviceTypesV02(lab, c)).find((t) => t.name === c.req.param("name"));
    if (!type) throw new RestError(404, "Not found.");
    return c.json(type);
  });
  api.get("/devicetypes/:name/template/", async (c) => {
    const name = c.req.param("name");
    assertDeviceTypeVisible(lab, name, await access(c));
    const template = lab.labDir.template(name);
    if (template === undefined) throw new RestError(400, `Device-type '${name}' template was not found.`);
    return yamlText(c, template, `${name}.jinja2`);
  });
  api.get("/devicetypes/:name/health_check/", async (c) => {
    const name = c.req.param("name");
    assertDeviceTypeVisible(lab, name, await access(c));
    const check = lab.labDir.healthCheck(name);
    if (check === undefined) throw new RestError(400, `Device-type '${name}' health check was not found.`);
    return yamlText(c, check, `${name}_health_check.yaml`);
  });
  api.post("/devicetypes/:name/template/", async (c) => {
    requireAdministrator(writer(c), "change_device");
    const data = await requestData(c);
    lab.labDir.setTemplate(c.req.param("name"), requiredText(data, "template", "Device type template is required."));
    return c.body(null, 204);
  });
  api.post("/devicetypes/:name/health_check/", async (c) => {
    requireAdministrator(writer(c), "change_device");
    const data = await requestData(c);
    lab.labDir.setHealthCheck(
      c.req.param("name"),
      requiredText(data, "config", "Health check configuration is required."),
    );
    return c.body(null, 204);
  });

  api.get(
    "/workers/",
    async (c) => c.json(paginatedList(c, exactFilter(c, await workersV02(lab, c), ["hostname", "state", "health"]))),
  );
  api.get("/workers/:hostname/", async (c) => {
    const worker = (await workersV02(lab, c)).find((w) => w.hostname === c.req.param("hostname"));
    if (!worker) throw new RestError(404, "Not found.");
    return c.json(worker);
  });
  const workerFile = (kind: "env" | "config") => (c: Context<HttpEnv>) => {
    superuser(c);
    const info = lab.catalog.workers.get(c.req.param("hostname") ?? "");
    if (!info) throw new RestError(404, "Not found.");
    const text = kind === "env" ? info.env : info.dispatcherConfig;
    if (!text) throw new RestError(400, `Worker '${info.hostname}' does not have '${kind}' file`);
    return yamlText(c, text, `${kind}.yaml`);
  };
  api.get("/workers/:hostname/env/", workerFile("env"));
  api.get("/workers/:hostname/config/", workerFile("config"));
  api.post("/workers/:hostname/env/", async (c) => {
    const user = superuser(c);
    await updateLabWorker(lab, user, c.req.param("hostname"), { env: requiredText(await requestData(c), "env") });
    return c.json({ message: "content successfully updated" });
  });
  api.post("/workers/:hostname/config/", async (c) => {
    const user = superuser(c);
    await updateLabWorker(lab, user, c.req.param("hostname"), {
      dispatcherConfig: requiredText(await requestData(c), "config"),
    });
    return c.json({ message: "content successfully updated" });
  });
  api.post("/workers/:hostname/set_health/", async (c) => {
    const user = writer(c);
    const health = choice(WorkerHealth, await requestData(c), "health") as WorkerHealthName;
    await updateLabWorker(lab, user, c.req.param("hostname"), { health });
    return c.json({ message: "OK" }, 202);
  });

  const aliases = () => [...lab.catalog.aliases.entries()].sort().map(([name, type]) => ({ name, device_type: type }));
  // Aliases and tags are read by users, not anonymously (LAVA's DjangoModelPermissions).
  api.get("/aliases/", (c) => {
    writer(c);
    return c.json(paginatedList(c, exactFilter(c, aliases(), ["name", "device_type"])));
  });
  api.get("/aliases/:name/", (c) => {
    writer(c);
    const alias = aliases().find((a) => a.name === c.req.param("name"));
    if (!alias) throw new RestError(404, "Not found.");
    return c.json(alias);
  });
  api.post("/aliases/", async (c) => {
    const data = await requestData(c);
    const alias = { name: requiredText(data, "name"), device_type: requiredText(data, "device_type") };
    await addLabAlias(lab, writer(c), alias.name, alias.device_type);
    return c.json(alias, 201);
  });
  api.delete("/aliases/:name/", async (c) => {
    await deleteLabAlias(lab, writer(c), c.req.param("name"));
    return c.body(null, 204);
  });

  const tags = async () =>
    (await lab.db.selectFrom("tags").select(["id", "name", "description"]).orderBy("id").execute()).map((t) => ({
      id: Number(t.id),
      name: t.name,
      description: t.description,
    }));
  const tagById = async (c: Context<HttpEnv>) => {
    const id = c.req.param("id") ?? "";
    const tag = /^\d{1,15}$/.test(id) ? (await tags()).find((t) => t.id === Number(id)) : undefined;
    if (!tag) throw new RestError(404, "Not found.");
    return tag;
  };
  api.get("/tags/", async (c) => {
    writer(c);
    return c.json(paginatedList(c, exactFilter(c, await tags(), ["name", "description"])));
  });
  api.get("/tags/:id/", async (c) => {
    writer(c);
    return c.json(await tagById(c));
  });
  api.post("/tags/", async (c) => {
    const data = await requestData(c);
    const name = requiredText(data, "name");
    await addLabTag(lab, writer(c), name, typeof data.description === "string" ? data.description : "");
    return c.json((await tags()).find((t) => t.name === name), 201);
  });
  api.delete("/tags/:id/", async (c) => {
    const user = writer(c);
    await deleteLabTag(lab, user, (await tagById(c)).name);
    return c.body(null, 204);
  });

  api.get("/system/", (c) => c.json(null));
  api.get("/system/version/", (c) => c.json({ version: BASALT_VERSION }));
  api.get("/system/whoami/", (c) => c.json({ user: c.get("user")?.username ?? "" }));
  api.get("/system/master_config/", (c) =>
    c.json({
      EVENT_TOPIC: lab.events.topicPrefix,
      EVENT_SOCKET: eventSocket,
      EVENT_NOTIFICATION: true,
      LOG_SIZE_LIMIT: 0,
    }));
}
