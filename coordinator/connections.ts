/**
 * Which connections the coordinator keeps when there are too many. Open
 * connections are capped in all and per address; a new connection over a cap
 * does not lose to the ones already there, it makes room: the oldest that is
 * still sending its request goes first (a peer that sends a byte a minute),
 * then the oldest held request (answered `wait`, so its client simply asks
 * again), then the oldest reply its peer is not taking. Over the total cap the
 * room is made at the address with the most connections. So idle or stalled
 * peers can never lock a working client out, and a held request degrades to
 * LAVA's polling instead of costing a slot.
 */

/** What a connection is doing: only a request being answered right now is never given up. */
export type Phase = "reading" | "handling" | "held" | "replying";

const EVICTION_ORDER: readonly Phase[] = ["reading", "held", "replying"];

export interface Tracked {
  readonly address: string;
  phase: Phase;
  /** Gives the connection up: close it, or answer a held request now. */
  readonly evict: () => void;
}

export class ConnectionTable {
  readonly #byAddress = new Map<string, Set<Tracked>>();
  #size = 0;
  evicted = 0;

  constructor(readonly maxConnections: number, readonly maxPerAddress: number) {}

  get size(): number {
    return this.#size;
  }

  /**
   * Takes a new connection in, evicting others as needed; false when nothing
   * could be evicted (every slot is answering a request at this moment).
   */
  admit(connection: Tracked): boolean {
    const own = this.#byAddress.get(connection.address);
    if (own && own.size >= this.maxPerAddress && !this.#evictFrom(own)) return false;
    if (this.#size >= this.maxConnections && !this.#evictFrom(this.#busiest()) && !this.#evictAnywhere()) {
      return false;
    }
    let set = this.#byAddress.get(connection.address);
    if (!set) this.#byAddress.set(connection.address, set = new Set());
    set.add(connection);
    this.#size++;
    return true;
  }

  /** Forgets a connection (it closed); harmless for one already evicted. */
  release(connection: Tracked): void {
    const set = this.#byAddress.get(connection.address);
    if (!set?.delete(connection)) return;
    this.#size--;
    if (set.size === 0) this.#byAddress.delete(connection.address);
  }

  #busiest(): Set<Tracked> {
    let busiest = new Set<Tracked>();
    for (const set of this.#byAddress.values()) if (set.size > busiest.size) busiest = set;
    return busiest;
  }

  #evictAnywhere(): boolean {
    for (const set of this.#byAddress.values()) if (this.#evictFrom(set)) return true;
    return false;
  }

  /** Evicts the first connection of `set` (oldest first) in the order of {@link EVICTION_ORDER}. */
  #evictFrom(set: Set<Tracked>): boolean {
    for (const phase of EVICTION_ORDER) {
      for (const connection of set) {
        if (connection.phase !== phase) continue;
        this.release(connection);
        this.evicted++;
        connection.evict();
        return true;
      }
    }
    return false;
  }
}
