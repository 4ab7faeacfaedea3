/**
 * The master's HTTP face, composed: who is calling (auth.ts), LAVA's XML-RPC
 * at `/RPC2` for lavacli (rpc_route.ts, methods in rpc/), LAVA's REST API v0.2
 * at `/api/v0.2/` for KernelCI and SQUAD (rest_v02/), LAVA's HTTP worker API
 * for `lava-worker` and `lava-run` (lava_worker_api.ts), Basalt's JSON API
 * under `/api/v1/` (rest/, documented in openapi.yaml), live streams — the
 * lab's events and a job's log as server-sent events and LAVA's event
 * WebSocket at `/ws/`, all served through live.ts within the caps of
 * streams.ts — and LAVA's result export URLs. The web UI (web/) mounts its
 * pages on the same app.
 */
import { Hono } from "hono";
import { EventAudience } from "../lab/event_audience.ts";
import type { Lab } from "../lab/lab.ts";
import { authentication, type ProxyLogin } from "./auth.ts";
import type { HttpEnv } from "./env.ts";
import { clientErrorStatus, HttpError } from "./errors.ts";
import { LiveStreams } from "./live.ts";
import { actorRoutes } from "./rest/actors.ts";
import { callbackTokenRoutes } from "./rest/callback_tokens.ts";
import { reservationRoutes } from "./rest/reservations.ts";
import type { RestContext } from "./rest/context.ts";
import { eventRoutes } from "./rest/events.ts";
import { jobLogRoutes } from "./rest/job_logs.ts";
import { jobRoutes } from "./rest/jobs.ts";
import { labRoutes } from "./rest/lab.ts";
import { resultRoutes } from "./rest/results.ts";
import { systemRoutes } from "./rest/system.ts";
import { rpcRoute } from "./rpc_route.ts";
import { lavaWorkerApiRoutes } from "./lava_worker_api.ts";
import { restV02Routes } from "./rest_v02/mod.ts";
import type { Sessions } from "./sessions.ts";
import { StreamGate } from "./streams.ts";

export interface AppOptions {
  readonly lab: Lab;
  /** The ZeroMQ event socket as clients should reach it. */
  readonly eventSocket: string;
  /** Aborted when the master stops: open streams end, so the server can. */
  readonly closing?: AbortSignal;
  /** Browser sessions of the web UI; their cookie authenticates like a token. */
  readonly sessions?: Sessions;
  /** Trust a reverse proxy's authenticated-user header (single sign-on); off when absent. */
  readonly proxyLogin?: ProxyLogin;
  /** Caps on concurrent event streams (default STREAM_LIMITS). */
  readonly streams?: StreamGate;
  /** The lab's events as each subscriber may see them (default: one of the app's own). */
  readonly audience?: EventAudience;
}

export function createApp(options: AppOptions): Hono<HttpEnv> {
  const { lab } = options;
  const app = new Hono<HttpEnv>();
  let ownAudience: EventAudience | undefined;
  const rest: RestContext = {
    lab,
    live: new LiveStreams(options.streams ?? new StreamGate(), options.closing),
    audience: () => options.audience ?? (ownAudience ??= new EventAudience(lab.events, lab.db)),
  };

  app.use("*", authentication(lab.db, options.sessions, options.proxyLogin));
  rpcRoute(app, lab, options.eventSocket);
  restV02Routes(app, lab, options.eventSocket);
  lavaWorkerApiRoutes(app, lab);
  eventRoutes(app, rest);
  jobRoutes(app, rest);
  jobLogRoutes(app, rest);
  reservationRoutes(app, rest);
  resultRoutes(app, rest);
  actorRoutes(app, rest);
  labRoutes(app, rest);
  systemRoutes(app, rest);
  callbackTokenRoutes(app, rest);

  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json({ error: error.message }, error.status);
    const status = clientErrorStatus(error) ?? 500;
    if (status === 500) console.error("request failed", c.req.path, error);
    return c.json({ error: error.message }, status);
  });
  app.notFound((c) => c.json({ error: `no such resource: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
