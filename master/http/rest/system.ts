/** The master itself: its version, the lab's counts, Prometheus metrics, who the caller is, and the API's own description. */
import type { Hono } from "hono";
import { BASALT_VERSION } from "../../../actors/version.ts";
import type { HttpEnv } from "../env.ts";
import { prometheusMetrics } from "../metrics.ts";
import type { RestContext } from "./context.ts";

const OPENAPI = new URL("../openapi.yaml", import.meta.url);

export function systemRoutes(app: Hono<HttpEnv>, { lab }: RestContext): void {
  app.get("/api/v1/system/version", (c) => c.json({ version: BASALT_VERSION }));
  app.get("/api/v1/system/status", (c) => c.json(lab.counts()));
  app.get("/metrics", (c) => c.text(prometheusMetrics(lab), 200, { "Content-Type": "text/plain; version=0.0.4" }));
  app.get("/api/v1/system/whoami", (c) => c.json({ user: c.get("user")?.username ?? null }));
  app.get(
    "/api/v1/openapi.yaml",
    async (c) => c.text(await Deno.readTextFile(OPENAPI), 200, { "Content-Type": "application/yaml" }),
  );
}
