/**
 * Who is calling. API clients send HTTP Basic `user:token` (lavacli's way) or
 * `Authorization: Token <token>`; browsers send the web UI's session cookie,
 * and every change they make must carry the session's CSRF token too (the
 * `X-CSRF-Token` header, or for the web's own forms under `/web/`, a form
 * field those routes check). Reading is open, changing needs a user, and
 * administration a superuser, as in LAVA.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Kysely } from "kysely";
import type { Database, User } from "../storage/schema.ts";
import { authenticate, authenticateToken } from "../storage/users.ts";
import type { HttpEnv } from "./env.ts";
import { HttpError } from "./errors.ts";
import { xmlBody } from "./rpc_route.ts";
import type { Sessions } from "./sessions.ts";
import { serializeFault } from "./xmlrpc.ts";

/** Recording when a token was last used is a write: at most once a minute per client's header. */
const RECORD_USE_MS = 60_000;
/** Headers remembered for that; past this the memory starts over. */
const MAX_RECORDED = 10_000;

/**
 * The middleware that sets the request's user (and session). A header naming a wrong user or token is refused
 * outright rather than treated as anonymous; a session cookie that is not (or no longer) valid is anonymous.
 */
/**
 * Single sign-on behind a reverse proxy that authenticates people itself: requests arriving from `address` with
 * `header` set are the user it names (an existing, active Basalt user). Off unless both are given.
 */
export interface ProxyLogin {
  readonly header: string;
  readonly address: string;
}

export function authentication(
  db: Kysely<Database>,
  sessions?: Sessions,
  proxy?: ProxyLogin,
): MiddlewareHandler<HttpEnv> {
  // Checking a token is a read on every request; recording its use at most once a minute means a client's every
  // request is not a database write.
  const usesRecorded = new Map<string, number>();

  /** Looked up on every request: a deleted token or a demoted user takes effect at once. */
  const userOf = async (header: string): Promise<User | undefined> => {
    // DRF's TokenAuthentication takes the keyword in any case.
    if (/^token /i.test(header)) return await authenticateToken(db, header.slice(6).trim());
    if (!header.startsWith("Basic ")) return undefined;
    let decoded = "";
    try {
      decoded = atob(header.slice(6));
    } catch { /* not base64: no user */ }
    const colon = decoded.indexOf(":");
    if (colon <= 0) return undefined;
    const [name, token] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    const recorded = usesRecorded.get(header) ?? 0;
    if (Date.now() - recorded > RECORD_USE_MS) {
      const user = await authenticate(db, name, token);
      if (usesRecorded.size > MAX_RECORDED) usesRecorded.clear();
      if (user) usesRecorded.set(header, Date.now());
      return user;
    }
    const owner = await authenticateToken(db, token);
    return owner?.username === name ? owner : undefined;
  };

  return async (c, next) => {
    const header = c.req.header("Authorization");
    if (header) {
      const user = await userOf(header);
      if (!user) {
        if (c.req.path.startsWith("/RPC2")) {
          return xmlBody(c, serializeFault(401, "Authentication failed: wrong user or token."));
        }
        // LAVA's REST API answers a bad token 403 (its first authentication, the session's, sends no challenge).
        if (c.req.path.startsWith("/api/v0.2/")) return c.json({ detail: "Invalid token." }, 403);
        return c.json({ error: "authentication failed: wrong user or token" }, 401);
      }
      c.set("user", user);
    } else if (sessions) {
      let session = await sessions.fromCookie(c.req.header("Cookie"));
      const peer = c.env?.remoteAddr;
      const vouched = proxy && peer?.transport === "tcp" && peer.hostname === proxy.address
        ? c.req.header(proxy.header)?.trim()
        : undefined;
      // A proxied session holds only while the proxy keeps naming its user: logging out there logs out here.
      if (session && sessions.isProxied(session) && vouched !== session.user.username) session = undefined;
      if (!session && vouched && (c.req.method === "GET" || c.req.method === "HEAD")) {
        session = await sessions.forProxiedUser(vouched);
        if (session) c.header("Set-Cookie", sessions.cookie(session), { append: true });
      }
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
  };
}

/** The request's user; 401 without one. */
export function requireUser(c: Context<HttpEnv>): User {
  const user = c.get("user");
  if (!user) throw new HttpError(401, "this needs a user: send Authorization: Token <token> or Basic user:token");
  return user;
}

/** The request's user if an administrator; 401 or 403 otherwise. */
export function requireSuperuser(c: Context<HttpEnv>): User {
  const user = requireUser(c);
  if (!user.is_superuser) throw new HttpError(403, "this needs an administrator");
  return user;
}
