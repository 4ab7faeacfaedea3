/**
 * LAVA's REST API v0.2 at `/api/v0.2/`, for KernelCI, SQUAD and the CI
 * runners that speak it: the shapes, status codes, filters and pagination of
 * django-rest-framework as LAVA 2023.01 configures it. A path without its
 * trailing slash is redirected (301) as Django's APPEND_SLASH does; errors are
 * `{"detail": ...}` (or `{field: [...]}` for a field); a caller who is not
 * logged in, or not allowed, is answered 403 as LAVA (session authentication
 * first) answers. Basalt's own API is `/api/v1/` (openapi.yaml); both answer
 * from the same views and admin layer.
 */
import { Hono } from "hono";
import type { Lab } from "../../lab/lab.ts";
import { FilterError } from "../../views/filters.ts";
import type { HttpEnv } from "../env.ts";
import { clientErrorStatus, HttpError } from "../errors.ts";
import { jobRoutesV02 } from "./jobs.ts";
import { labRoutesV02 } from "./lab.ts";
import { labChangeRoutesV02 } from "./lab_changes.ts";
import { peopleRoutesV02 } from "./people.ts";
import { RestError } from "./shape.ts";

export const REST_V02 = "/api/v0.2";

export function restV02Routes(app: Hono<HttpEnv>, lab: Lab, eventSocket: string): void {
  const api = new Hono<HttpEnv>();
  jobRoutesV02(api, lab);
  labRoutesV02(api, lab, eventSocket);
  labChangeRoutesV02(api, lab);
  peopleRoutesV02(api, lab);
  api.get("/", (c) => {
    const base = `${new URL(c.req.url).origin}${REST_V02}`;
    return c.json(Object.fromEntries(
      [
        "aliases",
        "devices",
        "devicetypes",
        "jobs",
        "permissions/devicetypes",
        "permissions/devices",
        "system",
        "tags",
        "workers",
        "remote-artifact-tokens",
        "groups",
        "users",
      ].map((r) => [r, `${base}/${r}/`]),
    ));
  });
  api.all("*", (c) => {
    const url = new URL(c.req.url);
    if (!url.pathname.endsWith("/")) return c.redirect(`${url.pathname}/${url.search}`, 301);
    return c.json({ detail: "Not found." }, 404);
  });
  api.onError((error, c) => {
    if (error instanceof RestError) return c.json(error.body ?? { detail: error.message }, error.status);
    if (error instanceof FilterError) return c.json(error.errors, 400);
    if (error instanceof HttpError) return c.json({ detail: error.message }, error.status === 401 ? 403 : error.status);
    const status = clientErrorStatus(error);
    if (status === 404) return c.json({ detail: "Not found." }, 404);
    if (status !== undefined) return c.json({ detail: error.message }, status);
    console.error("REST v0.2 request failed", c.req.path, error);
    return c.json({ detail: "A server error occurred." }, 500);
  });
  app.route(REST_V02, api);
}
