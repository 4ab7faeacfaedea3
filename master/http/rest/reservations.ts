/**
 * Reservations in the JSON API: `POST /api/v1/reservations` makes one (a job,
 * master/lab/reservations.ts), submitted with the caller's permissions.
 *
 * A running reservation's console as a WebSocket: `GET /api/v1/jobs/{id}/console`.
 * Frames are JSON (master/lab/consoles.ts): the device's output, the reservation's
 * state, notices and who holds the keyboard go to the client; the holder sends
 * input, power switches and the release. A browser's session cookie rides along
 * with any page's WebSocket, so a session must also give its CSRF token
 * (`?csrf=`); API clients authenticate with their token as on any route.
 */
import type { Hono } from "hono";
import { parseViewerRequest, type Viewer } from "../../lab/consoles.ts";
import { requireUser } from "../auth.ts";
import type { HttpEnv } from "../env.ts";
import { HttpError } from "../errors.ts";
import { boundedSend } from "../streams.ts";
import { readJsonObject, type RestContext, visibleJob } from "./context.ts";
import { reserve } from "../../lab/reservations.ts";

export function reservationRoutes(app: Hono<HttpEnv>, { lab, live }: RestContext): void {
  app.post("/api/v1/reservations", async (c) => {
    const user = requireUser(c);
    const body = await readJsonObject(c);
    const text = (key: string) => {
      const value = body[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== "string") throw new HttpError(400, `${key} must be a string`);
      return value;
    };
    const tags = body.tags ?? [];
    if (!Array.isArray(tags) || tags.length > 50 || !tags.every((t) => typeof t === "string" && t.length <= 200)) {
      throw new HttpError(400, "tags must be a list of at most 50 names");
    }
    if (body.minutes !== undefined && typeof body.minutes !== "number") {
      throw new HttpError(400, "minutes must be a number");
    }
    const priority = body.priority;
    if (priority !== undefined && typeof priority !== "number" && typeof priority !== "string") {
      throw new HttpError(400, "priority must be a number or high, medium, low");
    }
    const job = await reserve(lab, {
      device: text("device"),
      deviceType: text("device_type"),
      tags,
      minutes: body.minutes as number | undefined,
      boot: text("boot"),
      priority,
      visibility: text("visibility"),
    }, { id: user.id, username: user.username, is_superuser: user.is_superuser });
    const jobs = [job];
    return c.json({ message: "reservation queued", job_ids: jobs.map((j) => j.displayId) }, 201);
  });

  app.get("/api/v1/jobs/:id/console", async (c) => {
    const user = requireUser(c);
    const session = c.get("session");
    if (session && c.req.query("csrf") !== session.csrf) {
      throw new HttpError(403, "a session's console needs its CSRF token: ?csrf=");
    }
    const id = await visibleJob(lab, c);
    lab.consoles.check(id);
    return live.socket(c, (socket) => {
      let handle: ReturnType<typeof lab.consoles.join> | undefined;
      const viewer: Viewer = {
        userId: user.id,
        username: user.username,
        send: (frame) => boundedSend(socket, JSON.stringify(frame)),
        close: () => socket.close(1000, "the console ended"),
      };
      socket.addEventListener("open", () => {
        try {
          handle = lab.consoles.join(id, viewer);
        } catch (error) {
          viewer.send({ t: "ended", reason: error instanceof Error ? error.message : String(error) });
          viewer.close();
        }
      });
      socket.addEventListener("message", (event) => {
        const request = parseViewerRequest(event.data);
        if (request) handle?.request(request);
      });
      return () => handle?.leave();
    });
  });
}
