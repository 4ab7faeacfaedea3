/** The lab's devices, workers and device types in the JSON API, and setting their health and dictionaries. */
import type { Hono } from "hono";
import { DeviceHealth, WorkerHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { setDictionary, updateLabDevice } from "../../lab/admin/devices.ts";
import { updateLabWorker } from "../../lab/admin/workers.ts";
import {
  assertDeviceVisible,
  deviceDictionary,
  listDevices,
  listDeviceTypes,
  listWorkers,
  showDevice,
  showWorker,
} from "../../views/mod.ts";
import { requireUser } from "../auth.ts";
import { BODY_LIMITS, readBodyText } from "../body.ts";
import type { HttpEnv } from "../env.ts";
import { boolParam } from "../params.ts";
import { accessOf, readJsonObject, type RestContext } from "./context.ts";

export function labRoutes(app: Hono<HttpEnv>, { lab }: RestContext): void {
  app.get(
    "/api/v1/devices",
    async (c) =>
      c.json({ results: await listDevices(lab, boolParam(c.req.query("all"), "all"), await accessOf(lab, c)) }),
  );
  app.get(
    "/api/v1/devices/:hostname",
    async (c) => c.json(await showDevice(lab, c.req.param("hostname"), await accessOf(lab, c))),
  );
  app.post("/api/v1/devices/:hostname/health", async (c) => {
    const user = requireUser(c);
    const body = await readJsonObject(c);
    const health = DeviceHealth.name(DeviceHealth.parse(String(body.health ?? ""))) as DeviceHealthName;
    await updateLabDevice(lab, user, c.req.param("hostname"), {
      health,
      reason: typeof body.reason === "string" ? body.reason : undefined,
    });
    return c.json(await showDevice(lab, c.req.param("hostname"), await accessOf(lab, c)));
  });
  app.get("/api/v1/devices/:hostname/dictionary", async (c) => {
    const hostname = c.req.param("hostname");
    assertDeviceVisible(lab, hostname, await accessOf(lab, c));
    const dictionary = deviceDictionary(lab, hostname);
    if (dictionary === undefined) return c.json({ error: `device ${hostname} has no dictionary` }, 404);
    return c.text(dictionary, 200, { "Content-Type": "text/plain; charset=utf-8" });
  });
  app.put("/api/v1/devices/:hostname/dictionary", async (c) => {
    const user = requireUser(c);
    await setDictionary(lab, user, c.req.param("hostname"), await readBodyText(c.req.raw, BODY_LIMITS.dictionary));
    return c.json({ message: "dictionary stored" });
  });
  app.get("/api/v1/workers", async (c) => c.json({ results: await listWorkers(lab, await accessOf(lab, c)) }));
  app.get(
    "/api/v1/workers/:hostname",
    async (c) => c.json(await showWorker(lab, c.req.param("hostname"), await accessOf(lab, c))),
  );
  app.post("/api/v1/workers/:hostname/health", async (c) => {
    const user = requireUser(c);
    const body = await readJsonObject(c);
    const health = WorkerHealth.name(WorkerHealth.parse(String(body.health ?? ""))) as WorkerHealthName;
    await updateLabWorker(lab, user, c.req.param("hostname"), {
      health,
      reason: typeof body.reason === "string" ? body.reason : undefined,
    });
    return c.json(await showWorker(lab, c.req.param("hostname"), await accessOf(lab, c)));
  });
  app.get(
    "/api/v1/device-types",
    async (c) =>
      c.json({ results: listDeviceTypes(lab, boolParam(c.req.query("all"), "all"), await accessOf(lab, c)) }),
  );
}
