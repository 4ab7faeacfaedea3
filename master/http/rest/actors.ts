/**
 * The actors' state machines in the JSON API: a job's, device's or worker's
 * recorded transitions, and its transitions live as server-sent events — a
 * device's without the jobs the caller may not see.
 */
import type { Context, Hono } from "hono";
import { actorTransitions, assertDeviceVisible, type ShownActorKind } from "../../views/mod.ts";
import type { HttpEnv } from "../env.ts";
import { subscribed } from "../live.ts";
import { intParam } from "../params.ts";
import { accessOf, type RestContext, visibleJob } from "./context.ts";

/** The actors whose history and live transitions the API shows. */
const ACTOR_KINDS: ReadonlySet<string> = new Set<ShownActorKind>(["job", "device", "worker"]);
/** Job ids and host names: anything else names no actor (and a NUL would reach the database). */
const ACTOR_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The path's actor, or undefined when it names none. */
function actorOf(c: Context<HttpEnv>): { kind: ShownActorKind; id: string } | undefined {
  const kind = c.req.param("kind") ?? "";
  const id = c.req.param("id") ?? "";
  return ACTOR_KINDS.has(kind) && ACTOR_ID.test(id) ? { kind: kind as ShownActorKind, id } : undefined;
}

function noSuchActor(c: Context<HttpEnv>): Response {
  return c.json({ error: `no such actor: ${c.req.param("kind")} ${(c.req.param("id") ?? "").slice(0, 200)}` }, 404);
}

export function actorRoutes(app: Hono<HttpEnv>, { lab, live, audience }: RestContext): void {
  app.get("/api/v1/actors/:kind/:id/history", async (c) => {
    const actor = actorOf(c);
    if (!actor) return noSuchActor(c);
    if (actor.kind === "job") await visibleJob(lab, c);
    const after = intParam(c.req.query("after"), "after", { fallback: -1, min: -1 });
    const results = await actorTransitions(lab, actor.kind, actor.id, await accessOf(lab, c), { after, last: 1000 });
    return c.json({ results });
  });
  app.get("/api/v1/actors/:kind/:id/stream", async (c) => {
    const actor = actorOf(c);
    if (!actor) return noSuchActor(c);
    const { kind, id } = actor;
    if (kind === "job") await visibleJob(lab, c);
    if (kind === "device") assertDeviceVisible(lab, id, await accessOf(lab, c));
    const user = c.get("user");
    return live.sse(c, (feed) =>
      subscribed(
        feed,
        "transition stream",
        // A device's records name the jobs it ran: those the caller may not see are left out.
        audience().followTransitions(
          user,
          (listener) =>
            lab.host.transitions.subscribe((record) => {
              if (record.actorKind === kind && record.actorId === id) listener(record);
            }),
          (record) => feed.send({ event: "transition", data: JSON.stringify(record) }),
        ),
      ));
  });
}
