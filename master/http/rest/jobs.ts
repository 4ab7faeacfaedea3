/**
 * Jobs in the JSON API: listing, submitting, showing, the definition, cancelling, resubmitting, and an
 * administrator's force-fail and removal.
 */
import type { Hono } from "hono";
import { JobHealth, JobState } from "../../../actors/domain/states.ts";
import { definitionFor, listJobs, mayCancel, resolveJobId, resubmitJob, showJob } from "../../views/mod.ts";
import { failLabJob, removeLabJobs } from "../../lab/admin/jobs.ts";
import { requireUser } from "../auth.ts";
import type { HttpEnv } from "../env.ts";
import { HttpError } from "../errors.ts";
import { codeParam, intParam } from "../params.ts";
import { readJsonObject, type RestContext, visibleJob } from "./context.ts";

export function jobRoutes(app: Hono<HttpEnv>, { lab }: RestContext): void {
  app.get("/api/v1/jobs", async (c) => {
    const q = c.req.query();
    const results = await listJobs(lab, {
      state: codeParam(q.state, "state", JobState),
      health: codeParam(q.health, "health", JobHealth),
      start: intParam(q.offset, "offset", { fallback: 0 }),
      limit: intParam(q.limit, "limit", { fallback: 50, max: 1000 }),
      deviceType: q.device_type,
    }, c.get("user"));
    return c.json({ results });
  });
  app.post("/api/v1/jobs", async (c) => {
    const user = requireUser(c);
    const body = await readJsonObject(c);
    const definition = typeof body.definition === "string" ? body.definition : undefined;
    if (!definition) return c.json({ error: 'the body must be {"definition": "<job YAML>"}' }, 400);
    const jobs = await lab.submit(definition, {
      id: user.id,
      username: user.username,
      is_superuser: user.is_superuser,
    });
    return c.json({ message: "job submitted", job_ids: jobs.map((j) => j.displayId) }, 201);
  });
  app.get("/api/v1/jobs/:id", async (c) => c.json(await showJob(lab, await visibleJob(lab, c), "internal")));
  app.get(
    "/api/v1/jobs/:id/definition",
    async (c) =>
      c.text(await definitionFor(lab, await resolveJobId(lab, c.req.param("id")), c.get("user")), 200, {
        "Content-Type": "application/yaml",
      }),
  );
  app.post("/api/v1/jobs/:id/cancel", async (c) => {
    const user = requireUser(c);
    const id = await visibleJob(lab, c);
    if (!await mayCancel(lab, id, user)) {
      throw new HttpError(403, "only its submitter or an administrator may cancel a job");
    }
    await lab.cancel(id, `cancelled by ${user.username}`);
    return c.json({ message: "job cancelled" });
  });
  // An administrator's force-fail and removal (lab/admin/jobs.ts checks who may).
  app.post("/api/v1/jobs/:id/fail", async (c) => {
    const user = requireUser(c);
    const id = await visibleJob(lab, c);
    const body = await readJsonObject(c);
    await failLabJob(lab, user, id, typeof body.reason === "string" ? body.reason.slice(0, 500) : "");
    return c.json({ message: "job failed" });
  });
  app.delete("/api/v1/jobs/:id", async (c) => {
    const user = requireUser(c);
    const id = await visibleJob(lab, c);
    await removeLabJobs(lab, user, [id]);
    return c.json({ message: "job removed" });
  });
  app.post("/api/v1/jobs/:id/resubmit", async (c) => {
    const jobs = await resubmitJob(lab, c.req.param("id"), requireUser(c));
    return c.json({ message: "job resubmitted", job_ids: jobs.map((j) => j.displayId) }, 201);
  });
}
