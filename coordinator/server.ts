/**
 * The coordinator's TCP service: one request per connection, LAVA's framing,
 * requests handled one at a time against the groups, each change stored
 * before its reply leaves.
 *
 * LAVA's clients poll: they get `wait` at once and ask again after
 * `poll_delay`, and they get exactly that here. A client that adds
 * `"hold_ms": N` to its request (Basalt's dispatcher does) is not answered
 * `wait`: its request is held — up to N ms — and asked again the moment its
 * group changes, so it hears the answer as soon as the condition holds. The
 * answers are the ones polling would give, because a held request is simply
 * asked again.
 *
 * Nothing a peer sends stops the service: a broken frame closes that
 * connection, anything else that is wrong is answered `nack`, and both are logged.
 */
import type { Logger } from "../actors/runtime/log.ts";
import { FrameError, readFrame, readRest, writeFrame } from "./frame.ts";
import { Groups, type Outcome, WAIT } from "./groups.ts";
import { pythonJson } from "./python_json.ts";
import type { GroupStore } from "./store.ts";

export interface CoordinatorOptions {
  readonly hostname: string;
  readonly port: number;
  readonly store: GroupStore;
  readonly logger: Logger;
  /** Groups untouched for this long are dropped (a job that died without clear_group). */
  readonly expireMs: number;
  /** A connection that has not sent its request within this time is closed. */
  readonly readTimeoutMs?: number;
  /** The longest a request may be held. */
  readonly maxHoldMs?: number;
  readonly maxLength?: number;
}

interface Held {
  readonly request: Record<string, unknown>;
  readonly respond: (outcome: Outcome) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface CoordinatorStats {
  requests: number;
  nacks: number;
  brokenFrames: number;
  held: number;
}

export class Coordinator {
  readonly groups = new Groups();
  readonly stats: CoordinatorStats = { requests: 0, nacks: 0, brokenFrames: 0, held: 0 };
  readonly #o: CoordinatorOptions;
  readonly #held = new Map<string, Set<Held>>();
  readonly #connections = new Set<Deno.Conn>();
  #listener!: Deno.TcpListener;
  #expiry: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(options: CoordinatorOptions) {
    this.#o = options;
    for (const group of options.store.load()) this.groups.groups.set(group.name, group);
  }

  static start(options: CoordinatorOptions): Coordinator {
    const coordinator = new Coordinator(options);
    coordinator.#listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    coordinator.#serve();
    // Expiry is about hours; checking once a minute is plenty and wakes nothing else.
    coordinator.#expiry = setInterval(() => coordinator.#expire(), Math.min(60_000, options.expireMs));
    return coordinator;
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #serve(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#o.logger.error("accepting a connection failed", { error });
        continue;
      }
      this.#connections.add(conn);
      this.#connection(conn).catch((error) => this.#o.logger.error("a connection failed", { error }))
        .finally(() => {
          this.#connections.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        });
    }
  }

  async #connection(conn: Deno.Conn): Promise<void> {
    const peer = `${(conn.remoteAddr as Deno.NetAddr).hostname}:${(conn.remoteAddr as Deno.NetAddr).port}`;
    let text: string;
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch { /* closed */ }
    }, this.#o.readTimeoutMs ?? 30_000);
    try {
      text = await readFrame(conn, { maxLength: this.#o.maxLength ?? 0xffffff });
    } catch (error) {
      clearTimeout(timer);
      this.stats.brokenFrames++;
      if (error instanceof FrameError) {
        this.#o.logger.warning("a broken frame; connection closed", { peer, error: error.message });
      }
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      // A header that understated the length: LAVA reads on regardless, so read the rest.
      const rest = await readRest(conn, this.#o.maxLength ?? 0xffffff).catch(() => new Uint8Array());
      try {
        request = JSON.parse(text + new TextDecoder("utf-8", { fatal: true }).decode(rest));
      } catch {
        this.stats.brokenFrames++;
        this.#o.logger.warning("a request that is not JSON; connection closed", { peer, text: text.slice(0, 200) });
        return;
      } finally {
        clearTimeout(timer);
      }
    }
    clearTimeout(timer);
    this.stats.requests++;
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return await this.#reply(
        conn,
        { reply: { response: "nack" }, changed: false, problem: "not a JSON object" },
        peer,
      );
    }
    const outcome = await this.#handle(request as Record<string, unknown>);
    await this.#reply(conn, outcome, peer);
  }

  /** Handles a request, holding it while the answer is `wait` and the client asked to be held. */
  #handle(request: Record<string, unknown>): Promise<Outcome> {
    const outcome = this.#apply(request);
    const hold = Math.min(Number(request.hold_ms) || 0, this.#o.maxHoldMs ?? 60_000);
    if (outcome.reply !== WAIT || hold <= 0 || !outcome.group || this.#closed) {
      if (outcome.changed && outcome.group) this.#wake(outcome.group);
      return Promise.resolve(outcome);
    }
    return new Promise((resolve) => {
      const group = outcome.group!;
      let set = this.#held.get(group);
      if (!set) this.#held.set(group, set = new Set());
      const held: Held = {
        request,
        respond: resolve,
        timer: setTimeout(() => {
          set!.delete(held);
          this.stats.held--;
          resolve(outcome);
        }, hold),
      };
      set.add(held);
      this.stats.held++;
      // This request may itself have completed a condition (the last arrival of a sync): ask again now.
      if (outcome.changed) this.#wake(group);
    });
  }

  /** Runs one request against the groups and stores what changed. */
  #apply(request: Record<string, unknown>): Outcome {
    const outcome = this.groups.handle(request);
    if (outcome.problem) {
      this.stats.nacks++;
      this.#o.logger.warning("request refused", { problem: outcome.problem, request: request.request });
    }
    if (outcome.changed && outcome.group) this.#o.store.save(outcome.group, this.groups.groups.get(outcome.group));
    return outcome;
  }

  /**
   * Asks a group's held requests again, in arrival order, as polling clients
   * would ask; an answer that changes the group means another round.
   */
  #wake(group: string): void {
    const held = this.#held.get(group);
    for (let changed = true; changed && held && held.size > 0;) {
      changed = false;
      for (const entry of [...held]) {
        if (!held.has(entry)) continue;
        const again = this.#apply(entry.request);
        changed ||= again.changed;
        if (again.reply !== WAIT) {
          held.delete(entry);
          this.stats.held--;
          clearTimeout(entry.timer);
          entry.respond(again);
        }
      }
    }
  }

  async #reply(conn: Deno.Conn, outcome: Outcome, peer: string): Promise<void> {
    if (outcome.reply === null) return; // `complete`: LAVA closes without a word.
    try {
      await writeFrame(conn, pythonJson(outcome.reply));
    } catch (error) {
      this.#o.logger.warning("a reply could not be sent", { peer, error: (error as Error).message });
    }
  }

  #expire(): void {
    for (const name of this.groups.expire(this.#o.expireMs)) {
      this.#o.store.save(name, undefined);
      this.#o.logger.info("a group expired", { group: name });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#expiry);
    this.#listener.close();
    for (const set of this.#held.values()) {
      for (const held of set) {
        clearTimeout(held.timer);
        held.respond({ reply: WAIT, changed: false });
      }
    }
    this.#held.clear();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    await new Promise((r) => setTimeout(r, 0));
    this.#o.store.close();
  }
}
