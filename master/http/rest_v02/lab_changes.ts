/**
 * Changing the lab through LAVA's REST API v0.2 (ModelViewSet create, update
 * and partial update): `devices/`, `devicetypes/` and `workers/`, and removing
 * a worker. Each change goes through the lab's admin layer, which checks the
 * caller's permission (LAVA lets only administrators create these) and records it.
 */
import type { Context, Hono } from "hono";
import { DeviceHealth, WorkerHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { addLabDevice, updateLabDevice } from "../../lab/admin/devices.ts";
import { addLabDeviceType, updateLabDeviceType } from "../../lab/admin/device_types.ts";
import { addLabWorker, removeLabWorker, updateLabWorker } from "../../lab/admin/workers.ts";
import type { Lab } from "../../lab/lab.ts";
import type { HttpEnv } from "../env.ts";
import { devicesV02, deviceTypesV02, workersV02 } from "./lab.ts";
import { requestData, requiredText, RestError, superuser, writer } from "./shape.ts";

type Data = Record<string, unknown>;

function optionalText(data: Data, field: string): string | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new RestError(400, field, { [field]: ["Not a valid string."] });
  return value;
}

function optionalInt(data: Data, field: string): number | undefined {
  const value = data[field];
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RestError(400, field, { [field]: ["A valid integer is required."] });
  return n;
}

function optionalBool(data: Data, field: string): boolean | undefined {
  const value = data[field];
  if (value === undefined || value === null) return undefined;
  if (value === true || value === "true" || value === "True") return true;
  if (value === false || value === "false" || value === "False") return false;
  throw new RestError(400, field, { [field]: ["Must be a valid boolean."] });
}

function optionalChoice<T extends string>(
  codes: { parse(input: string): number; name(code: number): string },
  data: Data,
  field: string,
): T | undefined {
  const text = optionalText(data, field);
  if (text === undefined) return undefined;
  try {
    return codes.name(codes.parse(text)) as T;
  } catch {
    throw new RestError(400, field, { [field]: [`"${text}" is not a valid choice.`] });
  }
}

/** The answer once a change is made: the object as the API shows it. */
async function shown<T>(
  c: Context<HttpEnv>,
  rows: Promise<T[]>,
  match: (row: T) => boolean,
  status: 200 | 201,
) {
  const row = (await rows).find(match);
  if (!row) throw new RestError(404, "Not found.");
  return c.json(row, status);
}

export function labChangeRoutesV02(api: Hono<HttpEnv>, lab: Lab): void {
  api.post("/devices/", async (c) => {
    const user = superuser(c);
    const data = await requestData(c);
    const hostname = requiredText(data, "hostname");
    await addLabDevice(lab, user, {
      hostname,
      deviceType: requiredText(data, "device_type"),
      worker: requiredText(data, "worker_host"),
      description: optionalText(data, "description"),
      health: optionalChoice(DeviceHealth, data, "health"),
    });
    return await shown(c, devicesV02(lab, c), (d) => d.hostname === hostname, 201);
  });
  const changeDevice = async (c: Context<HttpEnv>) => {
    const user = writer(c);
    const hostname = c.req.param("hostname") ?? "";
    const data = await requestData(c);
    const health = optionalChoice<DeviceHealthName>(DeviceHealth, data, "health");
    await updateLabDevice(lab, user, hostname, {
      description: optionalText(data, "description"),
      worker: optionalText(data, "worker_host"),
      deviceType: optionalText(data, "device_type"),
      health,
      reason: health ? "set through the REST API" : undefined,
    });
    return await shown(c, devicesV02(lab, c), (d) => d.hostname === hostname, 200);
  };
  api.put("/devices/:hostname/", changeDevice);
  api.patch("/devices/:hostname/", changeDevice);

  api.post("/devicetypes/", async (c) => {
    const user = writer(c);
    const data = await requestData(c);
    const name = requiredText(data, "name");
    await addLabDeviceType(lab, user, { name, ...typeChange(data) });
    return await shown(c, deviceTypesV02(lab, c), (t) => t.name === name, 201);
  });
  const changeType = async (c: Context<HttpEnv>) => {
    const name = c.req.param("name") ?? "";
    await updateLabDeviceType(lab, writer(c), name, typeChange(await requestData(c)));
    return await shown(c, deviceTypesV02(lab, c), (t) => t.name === name, 200);
  };
  api.put("/devicetypes/:name/", changeType);
  api.patch("/devicetypes/:name/", changeType);

  api.post("/workers/", async (c) => {
    const user = writer(c);
    const data = await requestData(c);
    const hostname = requiredText(data, "hostname");
    await addLabWorker(lab, user, hostname, optionalText(data, "description") ?? "", optionalInt(data, "job_limit"));
    const health = optionalChoice<WorkerHealthName>(WorkerHealth, data, "health");
    if (health) await updateLabWorker(lab, user, hostname, { health });
    return await shown(c, workersV02(lab, c), (w) => w.hostname === hostname, 201);
  });
  const changeWorker = async (c: Context<HttpEnv>) => {
    const hostname = c.req.param("hostname") ?? "";
    const data = await requestData(c);
    await updateLabWorker(lab, writer(c), hostname, {
      description: optionalText(data, "description"),
      jobLimit: optionalInt(data, "job_limit"),
      health: optionalChoice<WorkerHealthName>(WorkerHealth, data, "health"),
    });
    return await shown(c, workersV02(lab, c), (w) => w.hostname === hostname, 200);
  };
  api.put("/workers/:hostname/", changeWorker);
  api.patch("/workers/:hostname/", changeWorker);
  api.delete("/workers/:hostname/", async (c) => {
    await removeLabWorker(lab, writer(c), c.req.param("hostname") ?? "");
    return c.body(null, 204);
  });
}

function typeChange(data: Data) {
  const denominator = optionalText(data, "health_denominator");
  if (denominator !== undefined && denominator !== "hours" && denominator !== "jobs") {
    throw new RestError(400, "health_denominator", { health_denominator: [`"${denominator}" is not a valid choice.`] });
  }
  return {
    description: optionalText(data, "description"),
    display: optionalBool(data, "display"),
    healthFrequency: optionalInt(data, "health_frequency"),
    healthDenominator: denominator as "hours" | "jobs" | undefined,
    disableHealthCheck: optionalBool(data, "disable_health_check"),
  };
}
