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
 * asked again. Nothing runs while requests are held: they are timers and
 * entries that a change to their group looks at.
 *
 * Nothing a peer sends stops the service or grows it without bound (limits.ts,
 * connections.ts): a broken or oversized frame is answered with an error and
 * closed, a malformed request or one over a bound is answered `nack` with an
 * `error`, a change that would make a group too big is undone, and refusals
 * are logged (a flood of them as a count a minute).
 */
import type { Logger } from "../actors/runtime/log.ts";
import { ConnectionTable, type Phase, type Tracked } from "./connections.ts";
import { FrameError, readFrame, readRest, writeFrame } from "../actors/multinode/frame.ts";
import { Groups, type Outcome, refuse, serializeGroup, WAIT } from "./groups.ts";
import { type CoordinatorLimits, DEFAULT_LIMITS, nestsDeeperThan } from "./limits.ts";
import { pythonJson } from "../actors/multinode/python_json.ts";
import type { GroupStore } from "./store.ts";

export interface CoordinatorOptions {
  readonly hostname: string;
  readonly port: number;
  readonly store: GroupStore;
  readonly logger: Logger;
  /** Groups untouched for this long are dropped (a job that died without clear_group). */
  readonly expireMs: number;
  /** Bounds other than {@link DEFAULT_LIMITS}. */
  readonly limits?: Partial<CoordinatorLimits>;
}

interface Held {
  readonly request: Record<string, unknown>;
  /** The call it is (client, request, message id): a client has one of each outstanding. */
  readonly call: string;
  readonly address: string;
  readonly respond: (outcome: Outcome) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Connection extends Tracked {
  readonly conn: Deno.Conn;
  readonly peer: string;
  held?: Held;
}

export interface CoordinatorStats {
  requests: number;
  nacks: number;
  brokenFrames: number;
  held: number;
  /** Connections closed at once because every slot was answering a request. */
  refusedConnections: number;
}

/** Rounds of asking a group's held requests again after one change; see #wake. */
const MAX_WAKE_ROUNDS = 8;
/** Refusals logged one by one per minute; the rest are counted. */
const LOGGED_REFUSALS_PER_MINUTE = 20;

export class Coordinator {
  readonly groups: Groups;
  readonly stats: CoordinatorStats = { requests: 0, nacks: 0, brokenFrames: 0, held: 0, refusedConnections: 0 };
  readonly limits: CoordinatorLimits;
  readonly #o: CoordinatorOptions;
  readonly #held = new Map<string, Set<Held>>();
  readonly #connections: ConnectionTable;
  readonly #open = new Set<Connection>();
  /** Each group's stored size, and their sum, for the bounds on both. */
  readonly #sizes = new Map<string, number>();
  #storedBytes = 0;
  #listener!: Deno.TcpListener;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #loggedRefusals = 0;
  #unloggedRefusals = 0;
  #evictedLogged = 0;

  private constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.groups = new Groups(Date.now, this.limits);
    this.#connections = new ConnectionTable(this.limits.maxConnections, this.limits.maxConnectionsPerAddress);
    for (const { group, size } of options.store.load()) {
      this.groups.groups.set(group.name, group);
      this.#sizes.set(group.name, size);
      this.#storedBytes += size;
    }
  }

  static start(options: CoordinatorOptions): Coordinator {
    const coordinator = new Coordinator(options);
    coordinator.#listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    coordinator.#serve();
    // Expiry is about hours and the log summary about minutes: once a minute is plenty and wakes nothing else.
    coordinator.#ticker = setInterval(() => coordinator.#tick(), Math.min(60_000, options.expireMs));
    return coordinator;
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Open connections, and those given up to make room for newer ones. */
  get connections(): { open: number; evicted: number } {
    return { open: this.#connections.size, evicted: this.#connections.evicted };
  }

  async #serve(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#o.logger.error("accepting a connection failed", { error });
        // Out of file descriptors, say: retrying at once would spin.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const connection: Connection = {
        conn,
        address: remote.hostname,
        peer: `${remote.hostname}:${remote.port}`,
        phase: "reading",
        evict: () => this.#evict(connection),
      };
      if (!this.#connections.admit(connection)) {
        this.stats.refusedConnections++;
        close(conn);
        continue;
      }
      this.#open.add(connection);
      this.#connection(connection).catch((error) => {
        if (!(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)) {
          this.#o.logger.error("a connection failed", { peer: connection.peer, error });
        }
      }).finally(() => {
        this.#connections.release(connection);
        this.#open.delete(connection);
        close(conn);
      });
    }
  }

  /** Makes room for a newer connection: a held request is answered `wait`, anything else is closed. */
  #evict(connection: Connection): void {
    const held = connection.held;
    if (connection.phase === "held" && held) this.#release(held, { reply: WAIT, changed: false });
    else close(connection.conn);
  }

  /** Closes the connection unless `work` is done within `ms`. */
  async #within<T>(connection: Connection, phase: Phase, ms: number, work: () => Promise<T>): Promise<T> {
    connection.phase = phase;
    const timer = setTimeout(() => close(connection.conn), ms);
    try {
      return await work();
    } finally {
      clearTimeout(timer);
    }
  }

  async #connection(connection: Connection): Promise<void> {
    const { conn, peer } = connection;
    const max = this.limits.maxFrameBytes;
    let request: unknown;
    try {
      request = await this.#within(connection, "reading", this.limits.frameTimeoutMs, async () => {
        const text = await readFrame(conn, { maxLength: max });
        try {
          return parseRequest(text, this.limits.maxDepth);
        } catch (error) {
          if (error instanceof FrameError) throw error;
          // A header that understated the length: LAVA reads on regardless, so read the rest.
          const rest = await readRest(conn, max - new TextEncoder().encode(text).length);
          let whole: string;
          try {
            whole = text + new TextDecoder("utf-8", { fatal: true }).decode(rest);
          } catch {
            throw new FrameError("the payload is not UTF-8");
          }
          try {
            return parseRequest(whole, this.limits.maxDepth);
          } catch (error) {
            if (error instanceof FrameError) throw error;
            throw new FrameError(`the request is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
          }
        }
      });
    } catch (error) {
      if (!(error instanceof FrameError)) return; // closed by the peer, a deadline or an eviction
      this.stats.brokenFrames++;
      this.#noteRefusal("a broken frame; answered and closed", { peer, error: error.message });
      return await this.#reply(connection, refuse(error.message));
    }
    this.stats.requests++;
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return await this.#reply(connection, refuse("the request is not a JSON object"));
    }
    connection.phase = "handling";
    const outcome = await this.#handle(request as Record<string, unknown>, connection);
    await this.#reply(connection, outcome);
  }

  /** Handles a request, holding it while the answer is `wait` and the client asked to be held. */
  #handle(request: Record<string, unknown>, connection: Connection): Promise<Outcome> {
    const outcome = this.#apply(request, connection.address);
    const hold = Math.min(Number(request.hold_ms) || 0, this.limits.maxHoldMs);
    if (outcome.reply !== WAIT || hold <= 0 || !outcome.group || this.#closed) {
      if (outcome.changed && outcome.group) this.#wake(outcome.group);
      return Promise.resolve(outcome);
    }
    return new Promise((resolve) => {
      const group = outcome.group!;
      // A client asks one call at a time, so an older copy of this call is from a connection it gave
      // up on. Released, it cannot undo this one's change at every wake (a sync of one id with two
      // messages, an aggregate with two bundles), which would make each wake run to its round limit.
      // (An aggregate stores one bundle per client whatever its id: one call.)
      const id = request.request === "aggregate" ? null : request.messageID ?? null;
      const call = [request.client_name, request.request, id].map(String).join("\u0000");
      for (const other of this.#held.get(group) ?? []) {
        if (other.call === call) this.#release(other, { reply: WAIT, changed: false });
      }
      let set = this.#held.get(group);
      if (!set) this.#held.set(group, set = new Set());
      const held: Held = {
        request,
        call,
        address: connection.address,
        respond: (answer) => {
          connection.held = undefined;
          resolve(answer);
        },
        timer: setTimeout(() => this.#release(held, outcome), hold),
      };
      set.add(held);
      this.stats.held++;
      connection.held = held;
      connection.phase = "held";
      // This request may itself have completed a condition (the last arrival of a sync): ask again now.
      if (outcome.changed) this.#wake(group);
    });
  }

  /** Answers a held request and forgets it. */
  #release(held: Held, answer: Outcome): void {
    const group = String(held.request.group_name);
    const set = this.#held.get(group);
    if (!set?.delete(held)) return;
    if (set.size === 0) this.#held.delete(group);
    this.stats.held--;
    clearTimeout(held.timer);
    held.respond(answer);
  }

  /** Runs one request against the groups and stores what changed; a change over a bound is undone. */
  #apply(request: Record<string, unknown>, address: string): Outcome {
    let outcome: Outcome;
    try {
      outcome = this.groups.handle(request, address);
    } catch (error) {
      // A defect, not the peer's mistake: the group goes back to its stored state, the rest carries on.
      this.#o.logger.error("a request could not be handled", { error, request: request.request, address });
      if (typeof request.group_name === "string") this.#restore(request.group_name);
      return refuse("the coordinator could not handle this request (a defect; it is logged)");
    }
    if (outcome.changed && outcome.group) {
      const refusal = this.#store(outcome.group);
      if (refusal) {
        this.stats.nacks++;
        this.#noteRefusal("request refused", { problem: refusal.problem, request: request.request, address });
        return refusal;
      }
    }
    if (outcome.problem) {
      this.stats.nacks++;
      this.#noteRefusal("request refused", { problem: outcome.problem, request: request.request, address });
    }
    return outcome;
  }

  /**
   * Stores a group as it now is, within the bounds on one group's size and on
   * all groups' together; over either, the group goes back to its stored state
   * and the refusal is returned.
   */
  #store(name: string): Outcome | undefined {
    const group = this.groups.groups.get(name);
    const before = this.#sizes.get(name) ?? 0;
    if (!group) {
      this.#o.store.save(name, undefined);
      this.#sizes.delete(name);
      this.#storedBytes -= before;
      return undefined;
    }
    let text: string | undefined;
    try {
      text = serializeGroup(group);
    } catch { /* longer than a string can be: over any bound */ }
    const size = text?.length ?? Infinity;
    const problem = size > this.limits.maxGroupBytes
      ? `${name} would hold ${size} bytes, over the limit of ${this.limits.maxGroupBytes} bytes for a group`
      : this.#storedBytes - before + size > this.limits.maxStoredBytes
      ? `the coordinator holds its limit of ${this.limits.maxStoredBytes} bytes of group state`
      : undefined;
    if (problem || text === undefined) {
      this.#restore(name);
      return refuse(problem ?? `${name} cannot be stored`);
    }
    this.#o.store.save(name, text);
    this.#sizes.set(name, size);
    this.#storedBytes += size - before;
    return undefined;
  }

  /** Puts a group back as it was last stored (gone, if it never was). */
  #restore(name: string): void {
    const stored = this.#o.store.get(name);
    if (stored) this.groups.groups.set(name, stored);
    else this.groups.groups.delete(name);
  }

  /**
   * Asks a group's held requests again, in arrival order, as polling clients
   * would ask; an answer that changes the group means another round. A
   * request asked again changes its group only on the way to its answer, so
   * rounds end; they are bounded all the same, so that no combination of
   * requests can keep the coordinator in here.
   */
  #wake(group: string): void {
    const held = this.#held.get(group);
    let changed = true;
    for (let round = 0; changed && held && held.size > 0; round++) {
      if (round === MAX_WAKE_ROUNDS) {
        this.#noteRefusal("held requests keep changing their group; asked again at its next change", { group });
        return;
      }
      changed = false;
      for (const entry of [...held]) {
        if (!held.has(entry)) continue;
        const again = this.#apply(entry.request, entry.address);
        changed ||= again.changed;
        if (again.reply !== WAIT) this.#release(entry, again);
      }
    }
  }

  async #reply(connection: Connection, outcome: Outcome): Promise<void> {
    if (outcome.reply === null) return; // `complete`: LAVA closes without a word.
    const reply = outcome.reply;
    try {
      await this.#within(
        connection,
        "replying",
        this.limits.replyTimeoutMs,
        () => writeFrame(connection.conn, pythonJson(reply)),
      );
    } catch (error) {
      this.#o.logger.debug("a reply could not be sent", { peer: connection.peer, error: (error as Error).message });
    }
  }

  /** Logs a refusal, unless a flood of them is under way: then they are counted and summed up each minute. */
  #noteRefusal(message: string, fields: Record<string, unknown>): void {
    if (this.#loggedRefusals++ < LOGGED_REFUSALS_PER_MINUTE) this.#o.logger.warning(message, fields);
    else this.#unloggedRefusals++;
  }

  #tick(): void {
    for (const name of this.groups.expire(this.#o.expireMs)) {
      this.#store(name);
      this.#o.logger.info("a group expired", { group: name });
    }
    if (this.#unloggedRefusals > 0) {
      this.#o.logger.warning("more refusals than were logged", { unlogged: this.#unloggedRefusals });
    }
    const evicted = this.#connections.evicted - this.#evictedLogged;
    if (evicted > 0) {
      this.#o.logger.warning("connections given up at the connection limits", {
        evicted,
        open: this.#connections.size,
      });
    }
    this.#evictedLogged = this.#connections.evicted;
    this.#loggedRefusals = 0;
    this.#unloggedRefusals = 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#listener.close();
    for (const set of [...this.#held.values()]) {
      for (const held of [...set]) this.#release(held, { reply: WAIT, changed: false });
    }
    for (const connection of this.#open) close(connection.conn);
    await new Promise((r) => setTimeout(r, 0));
    this.#o.store.close();
  }
}

/** The request's JSON; a nesting deeper than `maxDepth` is refused before it is parsed. */
function parseRequest(text: string, maxDepth: number): unknown {
  if (nestsDeeperThan(text, maxDepth)) throw new FrameError(`the request nests deeper than ${maxDepth} levels`);
  return JSON.parse(text);
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}
