/**
 * A job's log in the JSON API: a page of it (by line, or by matching line
 * under a level filter), and a live stream of it from any line on.
 */
import type { Hono } from "hono";
import type { Lab } from "../../lab/lab.ts";
import type { LogEnd } from "../../lab/log_followers.ts";
import { countLogLines, readFilteredLogLines, readLogLines } from "../../storage/job_logs.ts";
import { showJob } from "../../views/mod.ts";
import type { HttpEnv } from "../env.ts";
import { intParam, optionalIntParam } from "../params.ts";
import { type Feed, STREAM_LIMITS } from "../streams.ts";
import { type RestContext, visibleJob } from "./context.ts";

export function jobLogRoutes(app: Hono<HttpEnv>, { lab, live }: RestContext): void {
  app.get("/api/v1/jobs/:id/logs", async (c) => {
    const id = await visibleJob(lab, c);
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
    const id = await visibleJob(lab, c);
    const start = intParam(c.req.query("start"), "start", { fallback: 0 });
    return live.sse(c, (feed) => followLog(lab, feed, id, start));
  });
}

/** Stored lines read at once when a stream catches up. */
const STORED_PAGE = 5000;

/**
 * Feeds a job's log from line `start`: what is stored, at the client's pace, then live lines as they come
 * (listened to before the stored ones are read, so nothing falls between), then an `end` event.
 */
function followLog(lab: Lab, feed: Feed, id: number, start: number): () => void {
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
      const stored = await readLogLines(lab.db, id, { start: next, limit: STORED_PAGE });
      if (stored.length === 0 || feed.closed) return;
      if (!await send(stored, true)) return;
    }
  };
  /** How the job ended, when it ended while followed (a job already ended is read from the database). */
  let end: LogEnd | undefined;
  const finish = async () => {
    await readStored(); // what landed in the database after the last live batch
    if (feed.closed) return;
    const { state, health } = end ?? await showJob(lab, id, "internal");
    feed.send({ event: "end", data: JSON.stringify({ state, health }) });
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
  }, (how) => {
    ended = true;
    end = how;
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
}
