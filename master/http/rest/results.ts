/** A job's results in the JSON API, and LAVA's export URLs for them (`/results/<id>/yaml`, `/results/<id>/csv`). */
import type { Context, Hono } from "hono";
import { casesAsCsv, casesAsYaml, exportCases, suiteSummary } from "../../lab/results.ts";
import type { HttpEnv } from "../env.ts";
import { type RestContext, visibleJob } from "./context.ts";

export function resultRoutes(app: Hono<HttpEnv>, { lab }: RestContext): void {
  app.get(
    "/api/v1/jobs/:id/results",
    async (c) => c.json({ results: await exportCases(lab.db, await visibleJob(lab, c)) }),
  );
  app.get(
    "/api/v1/jobs/:id/suites",
    async (c) => c.json({ results: await suiteSummary(lab.db, await visibleJob(lab, c)) }),
  );
  const resultsYaml = async (c: Context<HttpEnv>) =>
    c.text(casesAsYaml(await exportCases(lab.db, await visibleJob(lab, c))), 200, {
      "Content-Type": "application/yaml",
    });
  const resultsCsv = async (c: Context<HttpEnv>) =>
    c.text(casesAsCsv(await exportCases(lab.db, await visibleJob(lab, c))), 200, {
      "Content-Type": "text/csv",
    });
  app.get("/api/v1/jobs/:id/results.yaml", resultsYaml);
  app.get("/api/v1/jobs/:id/results.csv", resultsCsv);
  app.get("/results/:id/yaml", resultsYaml);
  app.get("/results/:id/csv", resultsCsv);
}
