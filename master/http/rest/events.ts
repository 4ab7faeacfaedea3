/**
 * The lab's events as they happen, to each client only what its user may see
 * (as LAVA's publisher does): server-sent events at `/api/v1/events`, and
 * LAVA's event WebSocket at `/ws/`, whose frames are LAVA's (and which wakes
 * LAVA's own workers when they have work).
 */
import type { Hono } from "hono";
import { EVENT_TOPIC, eventFrames, type LabEvent } from "../../lab/events.ts";
import type { LavaWake } from "../../lab/lava_workers.ts";
import type { HttpEnv } from "../env.ts";
import { subscribed } from "../live.ts";
import type { RestContext } from "./context.ts";

export function eventRoutes(app: Hono<HttpEnv>, { lab, live, audience }: RestContext): void {
  app.get("/ws/", (c) => {
    const user = c.get("user");
    // LAVA's worker listens here only to wake up: it pings at once for a testjob frame naming it as Scheduled or
    // Canceling. It sends no credentials, so it is sent those frames alone, with nothing else of the job's.
    if (/^lava-worker /.test(c.req.header("User-Agent") ?? "")) {
      return live.websocket(
        c,
        (feed) =>
          lab.lavaWorkers.onWake((wake) => feed.send({ data: JSON.stringify(eventFrames(lavaWakeEvent(wake))) })),
      );
    }
    return live.websocket(c, (feed) =>
      subscribed(
        feed,
        "event stream",
        audience().subscribe(user, (event) => feed.send({ data: JSON.stringify(eventFrames(event)) })),
      ));
  });

  app.get("/api/v1/events", (c) =>
    live.sse(c, (feed) =>
      subscribed(
        feed,
        "event stream",
        audience().subscribe(
          c.get("user"),
          (event) => feed.send({ event: event.kind, id: event.uuid, data: JSON.stringify(event) }),
        ),
      )));
}

function lavaWakeEvent(wake: LavaWake): LabEvent {
  return {
    topic: `${EVENT_TOPIC}.testjob`,
    kind: "testjob",
    uuid: crypto.randomUUID(),
    datetime: new Date().toISOString(),
    username: "",
    data: { worker: wake.worker, state: wake.state },
  };
}
