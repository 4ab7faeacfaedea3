/**
 * A peer of the real coordinator process: starts `coordinator/main.ts`, and
 * talks to it the way LAVA's clients (or an attacker) do — raw bytes on one
 * connection per request.
 */
import { pythonJson } from "../../actors/multinode/python_json.ts";
import { TestProcess } from "./process.ts";

export async function startCoordinator(
  stateDir: string,
  args: string[] = [],
): Promise<{ process: TestProcess; port: number }> {
  const process = TestProcess.deno("coordinator", "coordinator/main.ts", [
    "--port",
    "0",
    "--state-dir",
    stateDir,
    "--log-level",
    "error",
    ...args,
  ]);
  const ready = await process.waitForEvent("ready", 30_000);
  return { process, port: Number(ready.port) };
}

/**
 * Sends raw bytes as one connection, half-closes, returns everything the
 * coordinator wrote back before closing; throws when it has not closed within `timeoutMs`.
 */
export async function exchange(port: number, bytes: Uint8Array, timeoutMs = 30_000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, timeoutMs);
  try {
    await conn.write(bytes).catch(() => 0);
    await conn.closeWrite().catch(() => {});
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    if (timedOut) throw new Error(`the coordinator did not answer within ${timeoutMs} ms`);
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

export function frame(json: string): Uint8Array {
  const body = new TextEncoder().encode(json);
  return new Uint8Array([
    ...new TextEncoder().encode(body.length.toString(16).toUpperCase().padStart(8, "0")),
    ...body,
  ]);
}

/** A request as LAVA's dispatcher builds it: the base message, then the request's own keys. */
export function lavaRequest(
  client: string,
  role: string,
  fields: Record<string, unknown>,
  group = "group-1",
  size = 3,
): Record<string, unknown> {
  return {
    port: 3079,
    blocksize: 4096,
    poll_delay: 1,
    host: "localhost",
    hostname: `worker-${client}`,
    client_name: client,
    group_name: group,
    role,
    ...fields,
    ...(fields.request === "group_data" || fields.request === "clear_group" ? { group_size: size } : {}),
  };
}

/** What a reply of `json` must be on the wire: its length in 8 upper-case hex digits, then the text. */
export const framed = (json: string): string => new TextDecoder().decode(frame(json));

export const call = (port: number, body: Record<string, unknown>, timeoutMs?: number): Promise<string> =>
  exchange(port, frame(pythonJson(body)), timeoutMs);
