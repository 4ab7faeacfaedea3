/**
 * The master's HTTP face: LAVA's XML-RPC at `/RPC2` (lavacli), Basalt's JSON
 * API under `/api/v1/` (documented in openapi.yaml), live streams for browsers
 * and clients — the lab's events and a job's log as server-sent events, and
 * LAVA's event WebSocket at `/ws/` — and LAVA's result export URLs.
 *
 * Callers authenticate with HTTP Basic `user:token` (lavacli's way) or
 * `Authorization: Token <token>`; reading is open, changing needs a user, and
 * administration a superuser, as in LAVA.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../actors/machines/worker.ts";
import { BASALT_VERSION } from "../../actors/version.ts";
import { setDictionary } from "../lab/admin.ts";
import { eventFrames } from "../lab/events.ts";
import type { Lab } from "../lab/lab.ts";
import { casesAsCsv, casesAsYaml, exportCases, suiteSummary } from "../lab/results.ts";
import { EventAudience } from "../lab/event_audience.ts";
import {
  accessFor,
  assertDeviceVisible,
  assertVisible,
  definitionFor,
  deviceTransitions,
  listDevices,
  listDeviceTypes,
  listJobs,
  resolveJobId,
  resubmitJob,
  showDevice,
  showJob,
  showWorker,
} from "../lab/views.ts";
import { countLogLines, readFilteredLogLines, readLogLines } from "../storage/job_logs.ts";
import type { Session, Sessions } from "../../web/sessions.ts";
import type { User } from "../storage/schema.ts";
import { authenticate, authenticateToken } from "../storage/users.ts";
import { prometheusMetrics } from "./metrics.ts";
import { type ClientErrorStatus, clientErrorStatus } from "./errors.ts";
import { BODY_LIMITS, BodyTooLargeError, readBodyText } from "./body.ts";
import { boolParam, codeParam, intParam, optionalIntParam } from "./params.ts";
import { callMethod, RpcFault } from "./rpc.ts";
import { boundedSend, eventStream, type Feed, STREAM_LIMITS, StreamGate } from "./streams.ts";
import { parseMethodCall, serializeFault, serializeResponse, XmlRpcParseError } from "./xmlrpc.ts";
import { DeviceHealth, WorkerHealth } from "../../actors/domain/states.ts";

export interface AppOptions {
  readonly lab: Lab;
  /** The ZeroMQ event socket as clients should reach it. */
  readonly eventSocket: string;
  /** Aborted when the master stops: open streams end, so the server can. */
  readonly closing?: AbortSignal;
  /** Browser sessions of the web UI; their cookie authenticates like a token. */
  readonly sessions?: Sessions;
  /** Caps on concurrent event streams (default STREAM_LIMITS). */
  readonly streams?: StreamGate;
  /** The lab's events as each subscriber may see them (default: one of the app's own). */
  readonly audience?: EventAudience;
}

type Env = { Variables: { user?: User; session?: Session } };

/** The actors whose history and live transitions the API shows. */
const ACTOR_KINDS = new Set(["job", "device", "worker"]);
/** Job ids and host names: anything else names no actor (and a NUL would reach the database). */
const ACTOR_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const OPENAPI = new URL("./openapi.yaml", import.meta.url);

function statusOf(error: unknown): ClientErrorStatus | 500 {
  return clientErrorStatus(error) ?? 500;
}

export function createApp(options: AppOptions): Hono<Env> {
  const { lab } = options;
  const app = new Hono<Env>();
  const streams = options.streams ?? new StreamGate();
  let ownAudience: EventAudience | undefined;
  const audience = () => options.audience ?? (ownAudience ??= new EventAudience(lab.events, lab.db));
  /** The caller's standing under the lab's visibility rules, read for this request. */
  const access = (c: Context<Env>) => accessFor(lab, c.get("user"));
  // When each token's use was last written: checking a token is a read on every request, recording it at most
  // once a minute, so a client's every request is not a database write.
  const usesRecorded = new Map<string, number>();

  app.use("*", async (c, next) => {
    const header = c.req.header("Authorization");
    if (header) {
      // Looked up on every request: a deleted token or a demoted user takes effect at once.
      let user: User | undefined;
      if (header.startsWith("Basic ")) {
        let decoded = "";
        try {
          decoded = atob(header.slice(6));
        } catch { /* not base64: no user */ }
        const colon = decoded.indexOf(":");
        if (colon > 0) {
          const [name, token] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
          const recorded = usesRecorded.get(header) ?? 0;
          if (Date.now() - recorded > 60_000) {
            user = await authenticate(lab.db, name, token);
            if (usesRecorded.size > 10_000) usesRecorded.clear();
            if (user) usesRecorded.set(header, Date.now());
          } else {
            const owner = await authenticateToken(lab.db, token);
            user = owner?.username === name ? owner : undefined;
          }
        }
      } else if (header.startsWith("Token ")) {
        user = await authenticateToken(lab.db, header.slice(6).trim());
      }
      // A wrong token is refused outright rather than treated as anonymous.
      if (!user) {
        return c.req.path.startsWith("/RPC2")
          ? xml(c, serializeFault(401, "Authentication failed: wrong user or token."))
          : c.json({ error: "authentication failed: wrong user or token" }, 401);
      }
      c.set("user", user);
    } else if (options.sessions) {
      const session = await options.sessions.fromCookie(c.req.header("Cookie"));
      if (session) {
        // A cookie travels with any request the browser makes: changes need the session's CSRF token too.
        const safe = c.req.method === "GET" || c.req.method === "HEAD";
        if (!safe && c.req.header("X-CSRF-Token") !== session.csrf && !c.req.path.startsWith("/web/")) {
          return c.json({ error: "missing or wrong X-CSRF-Token for this session" }, 403);
        }
        c.set("user", session.user);
        c.set("session", session);
      }
    }
    await next();
  });

  /** Who holds a stream, for the caps: the user, or the address of an anonymous client. */
  const clientKey = (c: Context<Env>): string => {
    const user = c.get("user");
    if (user) return `user:${user.id}`;
    const address = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    return `address:${address ?? "unknown"}`;
  };
  /** Runs `open` if the client may hold one more stream; otherwise 429. */
  const admitStream = (c: Context<Env>, open: (release: () => void) => Response): Response => {
    const release = streams.admit(clientKey(c));
    if (!release) {
      return c.json({
        error: `too many open streams (at most ${streams.limits.perClient} per client, ${streams.limits.total} in all)`,
      }, 429);
    }
    try {
      return open(release);
    } catch (error) {
      release();
      throw error;
    }
  };

  // --- XML-RPC ----------------------------------------------------------------
  const rpc = async (c: Context<Env>) => {
    let call;
    try {
      const limit = c.get("user") ? BODY_LIMITS.rpc : BODY_LIMITS.rpcAnonymous;
      call = parseMethodCall(await readBodyText(c.req.raw, limit));
    } catch (error) {
      if (error instanceof XmlRpcParseError) {
        return xml(c, serializeFault(400, `bad XML-RPC request: ${error.message}`));
      }
      if (error instanceof BodyTooLargeError) {
        // lavacli reads faults, other clients the status: both say what happened.
        return c.body(serializeFault(413, error.message), 413, { "Content-Type": "text/xml; charset=utf-8" });
      }
      throw error;
    }
    try {
      const value = await callMethod(
        { lab, user: c.get("user"), eventSocket: options.eventSocket },
        call.method,
        call.params,
      );
      return xml(c, serializeResponse(value));
    } catch (error) {
      if (error instanceof RpcFault) return xml(c, serializeFault(error.code, error.message));
      console.error("XML-RPC method failed", call.method, error);
      return xml(c, serializeFault(500, `internal error in ${call.method}: ${(error as Error).message}`));
    }
  };
  app.post("/RPC2", rpc);
  app.post("/RPC2/", rpc);

  // --- events -----------------------------------------------------------------
  app.get("/ws/", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return c.text("WebSocket only", 400);
    const user = c.get("user");
    return admitStream(c, (release) => {
      // A client that answers no ping within 10 s is gone, or stalled behind its own unread data: it is dropped.
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 10 });
      let unsubscribe: (() => void) | undefined;
      const close = () => socket.close();
      options.closing?.addEventListener("abort", close, { once: true });
      const stopSending = () => {
        unsubscribe?.();
        unsubscribe = undefined;
      };
      // The stream's place is given back only when the connection is really gone: a client that was sent a close
      // frame and never answers it keeps its TCP connection (Deno cannot abort one), and must keep counting.
      const cleanup = () => {
        stopSending();
        options.closing?.removeEventListener("abort", close);
        release();
      };
      socket.onopen = () => {
        // As LAVA's publisher does for its WebSocket: each client gets only what its user may see.
        unsubscribe = later(
          audience().subscribe(user, (event) => {
            // A client that does not keep up is sent a close frame and nothing more, not buffered for.
            if (!boundedSend(socket, JSON.stringify(eventFrames(event)))) stopSending();
          }),
          (error) => {
            console.error("event stream failed", error);
            socket.close(1011, "event stream failed");
          },
        );
      };
      socket.onclose = cleanup;
      socket.onerror = cleanup;
      return response;
    });
  });

  app.get("/api/v1/events", (c) =>
    admitStream(c, (release) =>
      eventStream(
        (feed) =>
          later(
            audience().subscribe(c.get("user"), (event) =>
              feed.send({ event: event.kind, id: event.uuid, data: JSON.stringify(event) })),
            (error) => {
              console.error("event stream failed", error);
              feed.fail("event stream failed");
            },
          ),
        { closing: options.closing, onClose: release },
      )));

  // --- jobs -------------------------------------------------------------------
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
    const body = await readBody(c);
    const definition = typeof body.definition === "string" ? body.definition : undefined;
    if (!definition) return c.json({ error: 'the body must be {"definition": "<job YAML>"}' }, 400);
    const jobs = await lab.submit(definition, { id: user.id, username: user.username });
    return c.json({ message: "job submitted", job_ids: jobs.map((j) => j.displayId) }, 201);
  });
  /** A job the caller may see, from the path's id or sub-id. */
  const visible = async (c: Context<Env>): Promise<number> => {
    const id = await resolveJobId(lab, c.req.param("id"));
    await assertVisible(lab, id, c.get("user"));
    return id;
  };
  app.get("/api/v1/jobs/:id", async (c) => c.json(await showJob(lab, await visible(c), "internal")));
  app.get(
    "/api/v1/jobs/:id/definition",
    async (c) =>
      c.text(await definitionFor(lab, await resolveJobId(lab, c.req.param("id")), c.get("user")), 200, {
        "Content-Type": "application/yaml",
      }),
  );
  app.post("/api/v1/jobs/:id/cancel", async (c) => {
    const user = requireUser(c);
    const id = await visible(c);
    const row = await lab.db.selectFrom("test_jobs").select("submitter_id").where("id", "=", id).executeTakeFirst();
    if (!user.is_superuser && row?.submitter_id !== user.id) {
      throw new HttpError(403, "only its submitter or an administrator may cancel a job");
    }
    await lab.cancel(id, `cancelled by ${user.username}`);
    return c.json({ message: "job cancelled" });
  });
  app.post("/api/v1/jobs/:id/resubmit", async (c) => {
    const jobs = await resubmitJob(lab, c.req.param("id"), requireUser(c));
    return c.json({ message: "job resubmitted", job_ids: jobs.map((j) => j.displayId) }, 201);
  });
  app.get("/api/v1/jobs/:id/logs", async (c) => {
    const id = await visible(c);
    const levels = c.req.query("levels")?.split(",").filter(Boolean);
    const job = await showJob(lab, id, "internal");
    if (levels && levels.length > 0) {
      // With a level filter, start and limit count the matching lines: a viewer pages through what it shows.
      const page = await readFilteredLogLines(lab.db, id, levels, {
        offset: intParam(c.req.query("offset"), "offset", { fallback: 0 }),
        limit: intParam(c.req.query("limit"), "limit", { fallback: 1000, max: 100_000 }),
      });
      return c.json({ finished: job.state === "Finished", total: page.total, lines: page.lines });
    }
    const start = intParam(c.req.query("start"), "start", { fallback: 0 });
    const end = optionalIntParam(c.req.query("end"), "end", {});
    const lines = await readLogLines(lab.db, id, { start, end, limit: 100_000 });
    return c.json({ finished: job.state === "Finished", total: await countLogLines(lab.db, id), lines });
  });
  app.get("/api/v1/jobs/:id/logs/stream", async (c) => {
    const id = await visible(c);
    const start = intParam(c.req.query("start"), "start", { fallback: 0 });
    return admitStream(
      c,
      (release) => eventStream((feed) => followLog(feed, id, start), { closing: options.closing, onClose: release }),
    );
  });
  /**
   * Feeds a job's log from line `start`: what is stored, at the client's pace, then live lines as they come
   * (listened to before the stored ones are read, so nothing falls between), then an `end` event.
   */
  const followLog = (feed: Feed, id: number, start: number): () => void => {
    let next = start;
    let ended = false;
    let live = false;
    const early: (readonly { line: number }[])[] = [];
    let earlyBytes = 0;
    const send = (lines: readonly { line: number }[], paced: boolean) => {
      const fresh = lines.filter((l) => l.line >= next);
      if (fresh.length === 0) return Promise.resolve(true);
      next = fresh[fresh.length - 1].line + 1;
      const message = { event: "lines", data: JSON.stringify(fresh) };
      return paced ? feed.write(message) : Promise.resolve(feed.send(message));
    };
    const readStored = async () => {
      for (;;) {
        const stored = await readLogLines(lab.db, id, { start: next, limit: 5000 });
        if (stored.length === 0 || feed.closed) return;
        if (!await send(stored, true)) return;
      }
    };
    const finish = async () => {
      await readStored(); // what landed in the database after the last live batch
      if (feed.closed) return;
      const job = await showJob(lab, id, "internal");
      feed.send({ event: "end", data: JSON.stringify({ state: job.state, health: job.health }) });
      feed.end();
    };
    const fail = (error: unknown) => {
      console.error("log stream failed", id, error);
      feed.fail("log stream failed");
    };
    const unsubscribe = lab.followLog(id, (lines) => {
      if (live) return void send(lines, false);
      // While the stored lines are read, live ones wait here, within the same bound as the client's queue.
      early.push(lines);
      earlyBytes += lines.length * 100;
      if (earlyBytes > STREAM_LIMITS.queueBytes * 4) feed.fail("the client fell too far behind");
    }, () => {
      ended = true;
      if (live) finish().catch(fail);
    });
    (async () => {
      await readStored();
      if (!lab.isActive(id)) ended = true;
      for (const lines of early.splice(0)) await send(lines, true);
      live = true;
      if (ended) await finish();
    })().catch(fail);
    return unsubscribe;
  };
  app.get(
    "/api/v1/jobs/:id/results",
    async (c) => c.json({ results: await exportCases(lab.db, await visible(c)) }),
  );
  app.get(
    "/api/v1/jobs/:id/suites",
    async (c) => c.json({ results: await suiteSummary(lab.db, await visible(c)) }),
  );
  const resultsYaml = async (c: Context<Env>) =>
    c.text(casesAsYaml(await exportCases(lab.db, await visible(c))), 200, {
      "Content-Type": "application/yaml",
    });
  const resultsCsv = async (c: Context<Env>) =>
    c.text(casesAsCsv(await exportCases(lab.db, await visible(c))), 200, {
      "Content-Type": "text/csv",
    });
  app.get("/api/v1/jobs/:id/results.yaml", resultsYaml);
  app.get("/api/v1/jobs/:id/results.csv", resultsCsv);
  app.get("/results/:id/yaml", resultsYaml);
  app.get("/results/:id/csv", resultsCsv);

  // --- actors -------------------------------------------------------------------
  app.get("/api/v1/actors/:kind/:id/history", async (c) => {
    const kind = c.req.param("kind");
    if (!ACTOR_KINDS.has(kind) || !ACTOR_ID.test(c.req.param("id"))) {
      return c.json({ error: `no such actor: ${kind} ${c.req.param("id").slice(0, 200)}` }, 404);
    }
    if (kind === "job") await visible(c);
    const id = c.req.param("id");
    const after = intParam(c.req.query("after"), "after", { fallback: -1, min: -1 });
    const deviceAccess = kind === "device" ? await access(c) : undefined;
    if (deviceAccess) assertDeviceVisible(lab, id, deviceAccess);
    const records = (await lab.host.options.journal.transitions(kind, id, after)).slice(-1000);
    return c.json({ results: deviceAccess ? await deviceTransitions(lab, id, deviceAccess, records) : records });
  });
  app.get("/api/v1/actors/:kind/:id/stream", async (c) => {
    const kind = c.req.param("kind");
    const id = c.req.param("id");
    if (!ACTOR_KINDS.has(kind) || !ACTOR_ID.test(id)) {
      return c.json({ error: `no such actor: ${kind} ${id.slice(0, 200)}` }, 404);
    }
    if (kind === "job") await visible(c);
    if (kind === "device") assertDeviceVisible(lab, id, await access(c));
    const user = c.get("user");
    return admitStream(c, (release) =>
      eventStream(
        (feed) =>
          // A device's records name the jobs it ran: those the caller may not see are left out.
          later(
            audience().followTransitions(
              user,
              (listener) =>
                lab.host.transitions.subscribe((record) => {
                  if (record.actorKind === kind && record.actorId === id) listener(record);
                }),
              (record) => feed.send({ event: "transition", data: JSON.stringify(record) }),
            ),
            (error) => {
              console.error("transition stream failed", error);
              feed.fail("transition stream failed");
            },
          ),
        { closing: options.closing, onClose: release },
      ));
  });

  // --- devices, workers, device types ------------------------------------------
  app.get(
    "/api/v1/devices",
    async (c) => c.json({ results: await listDevices(lab, boolParam(c.req.query("all"), "all"), await access(c)) }),
  );
  app.get(
    "/api/v1/devices/:hostname",
    async (c) => c.json(await showDevice(lab, c.req.param("hostname"), await access(c))),
  );
  app.post("/api/v1/devices/:hostname/health", async (c) => {
    const user = requireSuperuser(c);
    const body = await readBody(c);
    const health = DeviceHealth.name(DeviceHealth.parse(String(body.health ?? ""))) as DeviceHealthName;
    lab.setDeviceHealth(c.req.param("hostname"), health, String(body.reason ?? `set by ${user.username}`));
    return c.json(await showDevice(lab, c.req.param("hostname"), await access(c)));
  });
  app.get("/api/v1/devices/:hostname/dictionary", async (c) => {
    const hostname = c.req.param("hostname");
    assertDeviceVisible(lab, hostname, await access(c));
    const info = lab.catalog.devices.get(hostname);
    const dictionary = info?.dictionary ?? lab.labDir.dictionaryFile(hostname);
    if (!info || dictionary === undefined) return c.json({ error: `device ${hostname} has no dictionary` }, 404);
    return c.text(dictionary, 200, { "Content-Type": "text/plain; charset=utf-8" });
  });
  app.put("/api/v1/devices/:hostname/dictionary", async (c) => {
    requireSuperuser(c);
    await setDictionary(lab, c.req.param("hostname"), await readBodyText(c.req.raw, BODY_LIMITS.dictionary));
    return c.json({ message: "dictionary stored" });
  });
  app.get(
    "/api/v1/workers",
    async (c) => {
      const seen = await access(c);
      return c.json({
        results: await Promise.all([...lab.catalog.workers.keys()].sort().map((w) => showWorker(lab, w, seen))),
      });
    },
  );
  app.get(
    "/api/v1/workers/:hostname",
    async (c) => c.json(await showWorker(lab, c.req.param("hostname"), await access(c))),
  );
  app.post("/api/v1/workers/:hostname/health", async (c) => {
    requireSuperuser(c);
    const body = await readBody(c);
    const health = WorkerHealth.name(WorkerHealth.parse(String(body.health ?? ""))) as WorkerHealthName;
    lab.setWorkerHealth(c.req.param("hostname"), health);
    return c.json(await showWorker(lab, c.req.param("hostname"), await access(c)));
  });
  app.get(
    "/api/v1/device-types",
    async (c) => c.json({ results: listDeviceTypes(lab, boolParam(c.req.query("all"), "all"), await access(c)) }),
  );
  app.get("/api/v1/system/version", (c) => c.json({ version: BASALT_VERSION }));
  app.get("/api/v1/system/status", (c) => c.json(lab.counts()));
  app.get("/metrics", (c) => c.text(prometheusMetrics(lab), 200, { "Content-Type": "text/plain; version=0.0.4" }));
  app.get("/api/v1/system/whoami", (c) => c.json({ user: c.get("user")?.username ?? null }));
  app.get(
    "/api/v1/openapi.yaml",
    async (c) => c.text(await Deno.readTextFile(OPENAPI), 200, { "Content-Type": "application/yaml" }),
  );

  app.onError((error, c) => {
    const status = statusOf(error);
    if (status === 500 && !(error instanceof HttpError)) console.error("request failed", c.req.path, error);
    if (error instanceof HttpError) return c.json({ error: error.message }, error.status);
    return c.json({ error: error.message }, status);
  });
  app.notFound((c) => c.json({ error: `no such resource: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/** The unsubscribe of a subscription still being made: called before it is made, it ends it once made. */
function later(subscribing: Promise<() => void>, fail: (error: unknown) => void): () => void {
  let stop: (() => void) | undefined;
  let ended = false;
  subscribing.then((unsubscribe) => {
    if (ended) unsubscribe();
    else stop = unsubscribe;
  }, fail);
  return () => {
    ended = true;
    stop?.();
  };
}

class HttpError extends Error {
  constructor(readonly status: 400 | 401 | 403, message: string) {
    super(message);
  }
}

function requireUser(c: Context<Env>): User {
  const user = c.get("user");
  if (!user) throw new HttpError(401, "this needs a user: send Authorization: Token <token> or Basic user:token");
  return user;
}

function requireSuperuser(c: Context<Env>): User {
  const user = requireUser(c);
  if (!user.is_superuser) throw new HttpError(403, "this needs an administrator");
  return user;
}

async function readBody(c: Context<Env>): Promise<Record<string, unknown>> {
  const text = await readBodyText(c.req.raw, BODY_LIMITS.json);
  try {
    const body = JSON.parse(text);
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return body;
  } catch { /* below */ }
  throw new HttpError(400, "the body must be a JSON object");
}

function xml(c: Context<Env>, body: string): Response {
  // lavacli decodes the body as Latin-1 unless the charset is given.
  return c.body(body, 200, { "Content-Type": "text/xml; charset=utf-8" });
}
