/**
 * Rendering a route's page: the layout around it, the viewer from the session,
 * and errors (a job that does not exist, one that may not be seen) as pages
 * with the right status rather than JSON.
 */
import type { Context } from "hono";
import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import { LabRequestError } from "../master/lab/request_error.ts";
import type { HttpEnv } from "../master/http/env.ts";
import { BODY_LIMITS, readBodyForm } from "../master/http/body.ts";
import { clientErrorStatus } from "../master/http/errors.ts";
import { Layout, type Viewer } from "./components/layout.tsx";

/** A page's request, as the master's authentication left it (its user and browser session). */
export type WebEnv = HttpEnv;

export function viewerOf(c: Context<WebEnv>): Viewer | undefined {
  const session = c.get("session");
  const user = c.get("user");
  if (!user) return undefined;
  return { username: user.username, isSuperuser: user.is_superuser, csrf: session?.csrf ?? "" };
}

export function page(c: Context<WebEnv>, title: string, body: ComponentChildren, status = 200): Response {
  const html = "<!DOCTYPE html>" + renderToString(<Layout title={title} viewer={viewerOf(c)}>{body}</Layout>);
  return c.html(html, status as 200);
}

/** Runs a page handler; a request the lab refuses becomes an error page with its status. */
export function route(handler: (c: Context<WebEnv>) => Promise<Response> | Response) {
  return async (c: Context<WebEnv>): Promise<Response> => {
    try {
      return await handler(c);
    } catch (error) {
      const status = clientErrorStatus(error);
      if (status !== undefined) {
        const title = status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Not done";
        return page(c, title, <p class="notice error">{(error as Error).message}</p>, status);
      }
      throw error;
    }
  };
}

/** A path parameter; the route's pattern guarantees it is there. */
export function param(c: Context<WebEnv>, name: string): string {
  return c.req.param(name) ?? "";
}

/** A form's fields, read within the forms' byte limit (413 past it). */
export function form(c: Context<WebEnv>, limit: number = BODY_LIMITS.form): Promise<Record<string, string>> {
  return readBodyForm(c.req.raw, limit);
}

/** The form came from one of our pages in this session. */
export function checkCsrf(c: Context<WebEnv>, fields: Record<string, string>): void {
  const session = c.get("session");
  if (!session || fields.csrf !== session.csrf) {
    throw new LabRequestError("this form has expired: reload the page", 403);
  }
}
