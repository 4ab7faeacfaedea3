/** What a request carries through the master's routes once authenticated (auth.ts sets it). */
import type { User } from "../storage/schema.ts";
import type { Session } from "./sessions.ts";

/**
 * The request's user, and the browser session it came with, if any; and, from Deno.serve, the connection it came
 * on (absent when a test calls the app directly).
 */
export type HttpEnv = {
  Variables: { user?: User; session?: Session };
  Bindings: { remoteAddr?: Deno.Addr } | undefined;
};
