/**
 * Browser sessions for the web UI: a user logs in with their name and an API
 * token (as lavacli does), and gets an HttpOnly, SameSite=Strict cookie naming a
 * session kept in the master's memory. Each session has its own CSRF token,
 * which every form and every page-made API call that changes something must
 * carry; a restart of the master logs everyone out, nothing else.
 */
import type { User } from "../master/storage/schema.ts";

export const SESSION_COOKIE = "basalt_session";
const IDLE_MS = 12 * 3_600_000;

export interface Session {
  readonly id: string;
  readonly user: User;
  readonly csrf: string;
  lastSeen: number;
}

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class Sessions {
  readonly #sessions = new Map<string, Session>();

  create(user: User): Session {
    const session = { id: randomId(), user, csrf: randomId(), lastSeen: Date.now() };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The session a Cookie header names, if it is alive. */
  fromCookie(cookie: string | undefined): Session | undefined {
    const id = cookie?.split(/;\s*/).find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1);
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > IDLE_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }

  end(id: string): void {
    this.#sessions.delete(id);
  }

  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${IDLE_MS / 1000}`;
  }

  static clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}
