/**
 * LAVA's HTTP worker API, at the paths LAVA's server serves it
 * (`/scheduler/internal/v1/workers/...` and `/scheduler/internal/v1/jobs/...`),
 * for `lava-worker` and the `lava-run` processes it starts. Requests carry a
 * worker's or a job's token in the `LAVA-Token` header, bodies are HTML forms,
 * answers are JSON with LAVA's status codes; lab/lava_workers.ts decides them.
 */
import type { Context, Hono } from "hono";
import { authenticatePassword } from "../storage/users.ts";
import type { Lab } from "../lab/lab.ts";
import type { LavaAnswer } from "../lab/lava_workers.ts";
import { BODY_LIMITS, readBodyForm } from "./body.ts";
import type { HttpEnv } from "./env.ts";

const BASE = "/scheduler/internal/v1";
/** LAVA's job ids in these URLs: an integer (or N.M, which names no job here). */
const JOB_ID = /^\d{1,12}$/;

function answer(c: Context<HttpEnv>, result: LavaAnswer): Response {
  return c.json(result.body, result.status);
}

function jobId(c: Context<HttpEnv>): number | undefined {
  const pk = c.req.param("pk") ?? "";
  return JOB_ID.test(pk) ? Number(pk) : undefined;
}

/**
 * Whether the request came from this machine (LAVA's default WORKER_AUTO_REGISTER_NETMASK). A request a proxy
 * forwarded is not, whatever socket it arrived on: behind a reverse proxy on this host, every client would be.
 */
function fromLoopback(c: Context<HttpEnv>): boolean {
  if (["Forwarded", "X-Forwarded-For", "X-Real-IP"].some((h) => c.req.header(h) !== undefined)) return false;
  const address = c.env?.remoteAddr;
  if (!address || address.transport !== "tcp") return false;
  return /^127\./.test(address.hostname) || address.hostname === "::1" || address.hostname === "::ffff:127.0.0.1";
}

export function lavaWorkerApiRoutes(app: Hono<HttpEnv>, lab: Lab): void {
  const workers = lab.lavaWorkers;
  const token = (c: Context<HttpEnv>) => c.req.header("LAVA-Token");
  const form = (c: Context<HttpEnv>, limit: number) => readBodyForm(c.req.raw, limit);

  app.get(
    `${BASE}/workers/:name/`,
    async (c) => answer(c, await workers.ping(c.req.param("name"), token(c), c.req.query("version"))),
  );
  app.post(`${BASE}/workers/:name/`, (c) => c.json({ error: "POST is forbidden for such url" }, 403));
  app.post(`${BASE}/workers/`, async (c) =>
    answer(
      c,
      await workers.register(await form(c, BODY_LIMITS.form), fromLoopback(c), async (username, password) => {
        const user = await authenticatePassword(lab.db, username, password);
        return user?.is_superuser === true;
      }),
    ));

  app.get(`${BASE}/jobs/:pk/`, async (c) => {
    const id = jobId(c);
    return id === undefined
      ? c.json({ error: `Unknown job '${c.req.param("pk").slice(0, 40)}'` }, 404)
      : answer(c, await workers.jobFiles(id, token(c)));
  });
  app.post(`${BASE}/jobs/:pk/`, async (c) => {
    const id = jobId(c);
    if (id === undefined) return c.json({ error: `Unknown job '${c.req.param("pk").slice(0, 40)}'` }, 404);
    return answer(c, await workers.jobState(id, token(c), () => form(c, BODY_LIMITS.lavaJobEnd)));
  });
  app.post(`${BASE}/jobs/:pk/logs/`, async (c) => {
    const id = jobId(c);
    if (id === undefined) return c.json({ error: `Unknown job '${c.req.param("pk").slice(0, 40)}'` }, 404);
    return answer(c, await workers.jobLogs(id, token(c), () => form(c, BODY_LIMITS.lavaLogBatch)));
  });
}
