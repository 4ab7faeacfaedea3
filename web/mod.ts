/**
 * The web UI, served by the master itself on its own app: server-rendered pages
 * (routes/), the pieces they and the islands share (components/), small islands
 * that go live in the browser (islands/, bundled by assets.ts) and the
 * stylesheet (static/). The browser sessions it logs users in with belong to
 * the master's HTTP layer (master/http/sessions.ts), which authenticates every
 * request; the web imports from master/http, never the other way.
 */
import type { Hono } from "hono";
import { join } from "../actors/path.ts";
import type { Lab } from "../master/lab/lab.ts";
import { buildIslands, BUNDLE, STATIC_DIR } from "./assets.ts";
import type { WebEnv } from "./render.tsx";
import { accountPages } from "./routes/account_pages.tsx";
import { adminPages } from "./routes/admin_pages.tsx";
import { jobPages } from "./routes/job_pages.tsx";
import { labPages } from "./routes/lab_pages.tsx";
import type { Sessions } from "../master/http/sessions.ts";

const TYPES: Record<string, string> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Adds the web UI to the master's app; builds the islands' bundle first if it is out of date. */
export async function mountWeb(app: Hono<WebEnv>, lab: Lab, sessions: Sessions): Promise<void> {
  await buildIslands();
  app.get("/static/*", async (c) => {
    const relative = c.req.path.slice("/static/".length);
    if (relative.split("/").some((part) => part === ".." || part === "")) return c.notFound();
    const path = relative === "build/islands.js" ? BUNDLE : join(STATIC_DIR, relative);
    try {
      const body = await Deno.readFile(path);
      const type = TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
      return c.body(body, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
    } catch {
      return c.notFound();
    }
  });
  // Before the lab's pages: /devices/new is a page of its own, not a device named "new".
  adminPages(app, lab);
  labPages(app, lab);
  jobPages(app, lab);
  accountPages(app, lab, sessions);
}
