/**
 * A TCP relay between two local ports that a test can cut and restore, to make a
 * network outage of any length without root, firewalls or namespaces.
 */

export class TcpProxy {
  #listener: Deno.Listener | undefined;
  readonly #connections = new Set<Deno.Conn>();
  #accepting: Promise<void> | undefined;

  private constructor(readonly port: number, private readonly upstreamPort: number) {}

  /** Listens on a free port (or `port`) of 127.0.0.1 and relays to `upstreamPort`. */
  static start(upstreamPort: number, port = 0): TcpProxy {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    const proxy = new TcpProxy((listener.addr as Deno.NetAddr).port, upstreamPort);
    proxy.#listen(listener);
    return proxy;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  #listen(listener: Deno.Listener): void {
    this.#listener = listener;
    this.#accepting = (async () => {
      for await (const client of listener) this.#relay(client);
    })().catch(() => {});
  }

  async #relay(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.upstreamPort });
    } catch {
      client.close();
      return;
    }
    this.#connections.add(client);
    this.#connections.add(upstream);
    const closeBoth = () => {
      for (const conn of [client, upstream]) {
        if (this.#connections.delete(conn)) {
          try {
            conn.close();
          } catch { /* already closed */ }
        }
      }
    };
    const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buffer);
          if (n === null) break;
          let written = 0;
          while (written < n) written += await to.write(buffer.subarray(written, n));
        }
      } catch { /* cut */ }
      closeBoth();
    };
    await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
  }

  /** Drops every connection and refuses new ones until {@link restore}. */
  async cut(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    await this.#accepting;
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    this.#connections.clear();
  }

  restore(): void {
    if (this.#listener) return;
    this.#listen(Deno.listen({ hostname: "127.0.0.1", port: this.port }));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
