/**
 * The lab's events as they happen, to each client only what its user may see
 * (as LAVA's publisher does): server-sent events at `/api/v1/events`, and
 * LAVA's event WebSocket at `/ws/`, whose frames are LAVA's.
 */
import type { Hono } from "hono";
import { eventFrames } from "../../lab/events.ts";
import type { HttpEnv } from "../env.ts";
import { subscribed } from "../live.ts";
import type { RestContext } from "./context.ts";

export function eventRoutes(app: Hono<HttpEnv>, { live, audience }: RestContext): void {
  app.get("/ws/", (c) => {
    const user = c.get("user");
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
