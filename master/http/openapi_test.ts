import { parse } from "yaml";
import { assertEquals } from "../../tests/support/assert.ts";
import type { Lab } from "../lab/lab.ts";
import { createApp } from "./app.ts";

Deno.test("every route of the API is documented in openapi.yaml and nothing documented is missing", async () => {
  // Listing routes runs no handler: the lab is never touched.
  const app = createApp({ lab: {} as Lab, eventSocket: "" });
  const routes = new Set(
    app.routes.filter((r) => r.method !== "ALL").map((r) =>
      `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/\/$/, "") || "/"}`
    ),
  );
  const spec = parse(await Deno.readTextFile(new URL("./openapi.yaml", import.meta.url)));
  const documented = new Set(
    Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m} ${path.replace(/\/$/, "")}`)
    ),
  );
  // LAVA's REST API v0.2 and its worker API are LAVA's, documented by LAVA: openapi.yaml describes Basalt's own.
  const undocumented = [...routes].filter((r) =>
    !documented.has(r) && !r.endsWith("openapi.yaml") && !r.includes(" /api/v0.2") &&
    !r.includes(" /scheduler/internal/v1/")
  );
  const stale = [...documented].filter((r) => !routes.has(r));
  assertEquals({ undocumented, stale }, { undocumented: [], stale: [] });
});
