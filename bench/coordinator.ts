/**
 * The coordinator's speed, over real TCP on 127.0.0.1:
 *
 * - sync release: N nodes hold a `lava_sync`; from the moment the last node's
 *   request is sent to every node holding its `ack`. Target: under 10 ms for 64
 *   nodes (LAVA's clients re-poll every poll_delay, 1-3 s).
 * - round trip: one `lava_send` from connect to reply.
 *
 *   deno task bench coordinator
 */
import { createLogger } from "../actors/runtime/log.ts";
import { encodeFrame, readFrame } from "../actors/multinode/frame.ts";
import { pythonJson } from "../actors/multinode/python_json.ts";
import { Coordinator } from "../coordinator/server.ts";
import { GroupStore } from "../coordinator/store.ts";

export interface CoordinatorBenchResult {
  readonly release: { nodes: number; p50: number; max: number }[];
  readonly roundTripMs: { p50: number; p99: number };
}

async function send(port: number, body: Record<string, unknown>): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encodeFrame(pythonJson(body)));
    await conn.closeWrite();
    return await readFrame(conn, { maxLength: 1 << 20 });
  } finally {
    conn.close();
  }
}

const base = (group: string, client: string, size: number) => ({
  port: 3079,
  blocksize: 4096,
  poll_delay: 1,
  host: "localhost",
  hostname: `h${client}`,
  client_name: client,
  group_name: group,
  role: "node",
  group_size: size,
});

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];

export async function runCoordinatorBench(): Promise<CoordinatorBenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-coordinator-" });
  const coordinator = Coordinator.start({
    hostname: "127.0.0.1",
    port: 0,
    store: GroupStore.open(dir),
    logger: createLogger({ process: "coordinator", level: "error" }),
    expireMs: 3_600_000,
  });
  const port = coordinator.port;
  try {
    const release: CoordinatorBenchResult["release"] = [];
    for (const nodes of [2, 16, 64]) {
      const times: number[] = [];
      for (let round = 0; round < 10; round++) {
        const group = `sync-${nodes}-${round}`;
        const clients = Array.from({ length: nodes }, (_, i) => String(i + 1));
        await Promise.all(
          clients.map((c) => send(port, { ...base(group, c, nodes), request: "group_data", hold_ms: 10_000 })),
        );
        // All but the last are held at the barrier before the last arrives.
        const early = clients.slice(0, -1).map((c) =>
          send(port, { ...base(group, c, nodes), request: "lava_sync", messageID: "b", hold_ms: 10_000 }).then(() =>
            performance.now()
          )
        );
        while (coordinator.stats.held < nodes - 1) await new Promise((r) => setTimeout(r, 1));
        const started = performance.now();
        const last = send(port, {
          ...base(group, clients.at(-1)!, nodes),
          request: "lava_sync",
          messageID: "b",
          hold_ms: 10_000,
        })
          .then(() => performance.now());
        const ends = await Promise.all([...early, last]);
        times.push(Math.max(...ends) - started);
      }
      times.sort((a, b) => a - b);
      release.push({ nodes, p50: at(times, 50), max: times.at(-1)! });
    }
    const trips: number[] = [];
    await send(port, { ...base("rtt", "1", 1), request: "group_data" });
    for (let i = 0; i < 500; i++) {
      const started = performance.now();
      await send(port, { ...base("rtt", "1", 1), request: "lava_send", messageID: `m${i}`, message: { i: String(i) } });
      trips.push(performance.now() - started);
    }
    trips.sort((a, b) => a - b);
    return { release, roundTripMs: { p50: at(trips, 50), p99: at(trips, 99) } };
  } finally {
    await coordinator.close();
    await Deno.remove(dir, { recursive: true });
  }
}

export function formatCoordinatorBench(r: CoordinatorBenchResult): string {
  return [
    ...r.release.map((x) =>
      `lava_sync release, ${String(x.nodes).padStart(2)} nodes: p50 ${x.p50.toFixed(2)} ms, max ${
        x.max.toFixed(2)
      } ms` +
      (x.nodes === 64 ? ` (target < 10 ms: ${x.max < 10 ? "met" : "MISSED"})` : "")
    ),
    `request round trip (lava_send, stored before the reply): p50 ${r.roundTripMs.p50.toFixed(2)} ms, p99 ${
      r.roundTripMs.p99.toFixed(2)
    } ms`,
  ].join("\n");
}

if (import.meta.main) console.log(formatCoordinatorBench(await runCoordinatorBench()));
