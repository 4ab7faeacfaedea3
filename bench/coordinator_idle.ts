/**
 * What the real coordinator process costs while peers hold it open and do
 * nothing, read from /proc: RSS and CPU over 2 s
 *
 * - with nobody connected;
 * - with 1,000 idle connections (half of them stopped inside the length header);
 * - with 1,000 connections that each declared a 64 KiB request (the limit) and sent 1 byte of it;
 * - with 20 held requests (10 `lava_wait`, 10 `aggregate` in groups that never complete).
 *
 * Targets: no CPU to speak of while nothing happens (under 20 ms per second;
 * nothing polls), and memory that grows with what peers sent, not with what
 * they declared: under +64 MiB over the unconnected figure throughout (the
 * scenarios run one after the other and RSS rarely shrinks, so each figure
 * includes what the ones before left). The coordinator is started with
 * --max-connections-per-address 1024, so all 1,000 connections from 127.0.0.1
 * are kept: the default per-address limit (256) would close the oldest, which
 * is not what is measured here.
 *
 *   deno task bench coordinator-idle
 */
import { encodeFrame } from "../actors/multinode/frame.ts";
import { pythonJson } from "../actors/multinode/python_json.ts";
import { lavaRequest, startCoordinator } from "../tests/support/coordinator_peer.ts";
import { cpuMsOver, openFds, rssMiB } from "../tests/support/proc_usage.ts";

const CONNECTIONS = 1000;
const HELD = 20;
const WINDOW_MS = 2000;

export interface IdleFigure {
  readonly what: string;
  readonly rssMiB: number;
  readonly cpuMsPerS: number;
  readonly openFds: number;
}

async function measure(pid: number, what: string): Promise<IdleFigure> {
  // Let the coordinator settle after the peers' burst before watching it.
  await new Promise((r) => setTimeout(r, 500));
  const cpu = await cpuMsOver(pid, WINDOW_MS);
  return { what, rssMiB: rssMiB(pid), cpuMsPerS: cpu * 1000 / WINDOW_MS, openFds: openFds(pid) };
}

async function connectAll(port: number, first: (i: number) => Uint8Array): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const bytes = first(i);
    if (bytes.length > 0) await conn.write(bytes);
    conns.push(conn);
  }
  return conns;
}

function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* closed by the coordinator */ }
  }
}

export async function runCoordinatorIdleBench(): Promise<IdleFigure[]> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-coordinator-idle-" });
  const { process, port } = await startCoordinator(dir, ["--max-connections-per-address", "1024"]);
  const pid = process.pid;
  const figures: IdleFigure[] = [];
  try {
    figures.push(await measure(pid, "nobody connected"));

    const encoder = new TextEncoder();
    let conns = await connectAll(port, (i) => encoder.encode(i % 2 ? "0000" : ""));
    figures.push(await measure(pid, `${CONNECTIONS} idle connections`));
    closeAll(conns);

    conns = await connectAll(port, () => encoder.encode("0000FFFF{"));
    figures.push(await measure(pid, `${CONNECTIONS} connections declaring 64 KiB, 1 byte sent`));
    closeAll(conns);

    const held: Deno.Conn[] = [];
    for (let i = 0; i < HELD; i++) {
      const group = `held-${i}`;
      const fields = i % 2
        ? { request: "lava_wait", messageID: "never" }
        : { request: "aggregate", bundle: `b${i}`, sub_id: `${i}.0` };
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        encodeFrame(pythonJson({ ...lavaRequest("1", "r", fields, group, 2), group_size: 2, hold_ms: 60_000 })),
      );
      await conn.closeWrite();
      held.push(conn);
    }
    figures.push(await measure(pid, `${HELD} held requests (lava_wait, aggregate)`));
    closeAll(held);
    return figures;
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

export function formatCoordinatorIdleBench(figures: IdleFigure[]): string {
  const base = figures[0];
  return figures.map((f) =>
    `${f.what.padEnd(52)} RSS ${f.rssMiB.toFixed(1).padStart(6)} MiB (+${(f.rssMiB - base.rssMiB).toFixed(1)}` +
    `${f.rssMiB - base.rssMiB < 64 ? "" : "; target < +64: MISSED"}), ` +
    `CPU ${f.cpuMsPerS.toFixed(0).padStart(3)} ms/s${f.cpuMsPerS < 20 ? "" : " (target < 20: MISSED)"}, ` +
    `${f.openFds} open files`
  ).join("\n");
}

if (import.meta.main) console.log(formatCoordinatorIdleBench(await runCoordinatorIdleBench()));
