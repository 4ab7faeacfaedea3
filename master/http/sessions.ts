/**
 * Browser sessions for the web UI: a user logs in with their name and an API
 * token (as lavacli does), and gets an HttpOnly, SameSite=Strict cookie naming a
 * session kept in the master's memory (`Secure` too when the master is told it
 * is reached over HTTPS). A session remembers which token opened it, not the
 * user: every request looks the token and its user up again, so deleting the
 * token, deactivating the user or taking away their rights takes effect on the
 * next request. Each session has its own CSRF token, which every form and every
 * page-made API call that changes something must carry; the login form carries
 * one too, bound to a short-lived cookie, so another site cannot log a browser
 * in as someone else. A restart of the master logs everyone out, nothing else.
 */
import type { Kysely } from "kysely";
import type { Database, User } from "../storage/schema.ts";
import { authenticate, authenticatePassword, hashToken } from "../storage/users.ts";

export const SESSION_COOKIE = "basalt_session";
const LOGIN_COOKIE = "basalt_login";
const IDLE_MS = 12 * 3_600_000;
/** How long a login form stays valid. */
const LOGIN_FORM_MS = 3_600_000;
/** Sessions kept at most; past it the least recently used one goes (a token holder could otherwise log in forever). */
const MAX_SESSIONS = 10_000;

export interface Session {
  readonly id: string;
  /** The user as the database says now: refreshed on every request. */
  user: User;
  readonly csrf: string;
  lastSeen: number;
}

/** A session stands on the credential it was opened with: a token (by its hash) or the password then set. */
interface Stored extends Session {
  readonly tokenHash?: string;
  readonly passwordHash?: string;
  /** Opened because a trusted proxy vouched for the user: it holds while the proxy keeps naming them. */
  readonly proxied?: boolean;
}

export interface SessionOptions {
  readonly db: Kysely<Database>;
  /** Mark cookies `Secure`: the master is reached over HTTPS (through a proxy that terminates it). */
  readonly secureCookies?: boolean;
}

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  return header?.split(/;\s*/).find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Compares secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export class Sessions {
  readonly #sessions = new Map<string, Stored>();
  readonly #db: Kysely<Database>;
  readonly #secure: boolean;
  /** Signs login-form tokens; a new one per master run. */
  readonly #loginKey = crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

  constructor(options: SessionOptions) {
    this.#db = options.db;
    this.#secure = options.secureCookies ?? false;
  }

  /**
   * A session for the user `username` names with `secret` — one of their API tokens or their password — or undefined
   * when it matches no active user.
   */
  async login(username: string, secret: string): Promise<Session | undefined> {
    const byToken = await authenticate(this.#db, username, secret);
    const user = byToken ?? await authenticatePassword(this.#db, username, secret);
    if (!user) return undefined;
    const session: Stored = {
      id: randomId(),
      user,
      csrf: randomId(),
      lastSeen: Date.now(),
      ...(byToken ? { tokenHash: await hashToken(secret) } : { passwordHash: user.password_hash! }),
    };
    if (this.#sessions.size >= MAX_SESSIONS) this.#evict();
    this.#sessions.set(session.id, session);
    return session;
  }

  /** A session for a user a trusted reverse proxy has authenticated (single sign-on), if they are an active user. */
  async forProxiedUser(username: string): Promise<Session | undefined> {
    const user = await this.#db.selectFrom("users").selectAll().where("username", "=", username)
      .where("is_active", "=", true).executeTakeFirst();
    if (!user) return undefined;
    const session: Stored = { id: randomId(), user, csrf: randomId(), lastSeen: Date.now(), proxied: true };
    if (this.#sessions.size >= MAX_SESSIONS) this.#evict();
    this.#sessions.set(session.id, session);
    return session;
  }

  /** Whether the session was opened on a proxy's word rather than a token or password. */
  isProxied(session: Session): boolean {
    return (session as Stored).proxied === true;
  }

  /** The session a Cookie header names, if it is alive and its token and user still are. */
  async fromCookie(cookie: string | undefined): Promise<Session | undefined> {
    const id = cookieValue(cookie, SESSION_COOKIE);
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > IDLE_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    // A revoked token or a changed password ends the sessions opened with it, as deactivating the user ends all.
    const user = session.proxied
      ? await this.#db.selectFrom("users").selectAll().where("id", "=", session.user.id).where("is_active", "=", true)
        .executeTakeFirst()
      : session.tokenHash !== undefined
      ? await this.#db.selectFrom("api_tokens")
        .innerJoin("users", "users.id", "api_tokens.user_id")
        .selectAll("users")
        .where("api_tokens.token_hash", "=", session.tokenHash)
        .where("users.id", "=", session.user.id)
        .where("users.is_active", "=", true)
        .executeTakeFirst()
      : await this.#db.selectFrom("users").selectAll()
        .where("id", "=", session.user.id)
        .where("password_hash", "=", session.passwordHash!)
        .where("is_active", "=", true)
        .executeTakeFirst();
    if (!user) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.user = user;
    session.lastSeen = Date.now();
    // Most recently used last, so that eviction takes the longest idle.
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #evict(): void {
    const now = Date.now();
    for (const [id, session] of this.#sessions) {
      if (now - session.lastSeen > IDLE_MS) this.#sessions.delete(id);
    }
    while (this.#sessions.size >= MAX_SESSIONS) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
  }

  #attributes(maxAgeSeconds: number): string {
    return `Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${this.#secure ? "; Secure" : ""}`;
  }

  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; ${this.#attributes(IDLE_MS / 1000)}`;
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; ${this.#attributes(0)}`;
  }

  /**
   * A token for a login form and the cookie that goes with it: the form's hidden
   * field and the cookie must match and carry this master's signature.
   */
  async loginForm(): Promise<{ token: string; cookie: string }> {
    const nonce = `${Date.now().toString(36)}.${randomId()}`;
    const signature = await crypto.subtle.sign("HMAC", await this.#loginKey, new TextEncoder().encode(nonce));
    const token = `${nonce}.${[...new Uint8Array(signature)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    return { token, cookie: `${LOGIN_COOKIE}=${token}; ${this.#attributes(LOGIN_FORM_MS / 1000)}` };
  }

  /** Whether a login form came from one of this master's login pages, in this browser, recently. */
  async checkLoginForm(cookie: string | undefined, field: string | undefined): Promise<boolean> {
    const fromCookie = cookieValue(cookie, LOGIN_COOKIE);
    if (!fromCookie || !field || !sameSecret(fromCookie, field)) return false;
    const match = /^([0-9a-z]+)\.([0-9a-f]+)\.([0-9a-f]{64})$/.exec(field);
    if (!match) return false;
    const issued = parseInt(match[1], 36);
    if (!(Date.now() - issued < LOGIN_FORM_MS)) return false;
    const signature = new Uint8Array(match[3].match(/../g)!.map((h) => parseInt(h, 16)));
    return await crypto.subtle.verify(
      "HMAC",
      await this.#loginKey,
      signature,
      new TextEncoder().encode(`${match[1]}.${match[2]}`),
    );
  }

  /** Clears the login form's cookie once it has been used. */
  clearLoginCookie(): string {
    return `${LOGIN_COOKIE}=; ${this.#attributes(0)}`;
  }
}
