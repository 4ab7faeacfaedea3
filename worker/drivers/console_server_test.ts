import { assert, assertEquals } from "../../tests/support/assert.ts";
import { Condition } from "../../tests/support/wait.ts";
import { type DownFrame, encodeFrameLine, MAX_FRAME_LINE, readFrameLines } from "../../actors/lab/console_frames.ts";
import { ConsoleServer } from "./console_server.ts";

async function client(path: string) {
  const conn = await Deno.connect({ transport: "unix", path });
  const frames: unknown[] = [];
  const changed = new Condition();
  const reading = (async () => {
    for await (const frame of readFrameLines(conn.readable, MAX_FRAME_LINE)) {
      frames.push(frame);
      changed.notify();
    }
  })().catch(() => {});
  const write = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  };
  return {
    frames,
    send: (frame: DownFrame) => write(encodeFrameLine(frame)),
    raw: (text: string) => write(new TextEncoder().encode(text)),
    until: (count: number) => changed.until(() => frames.length >= count, 5000, `${count} frames`),
    closed: reading,
    close: () => conn.close(),
  };
}

Deno.test("the console socket greets each connection, sends output to all and hands on the frames it is sent", async () => {
  const dir = await Deno.makeTempDir();
  const received: DownFrame[] = [];
  const problems: string[] = [];
  const changed = new Condition();
  const server = ConsoleServer.listen({
    path: `${dir}/console.sock`,
    greeting: () => [{ t: "state", power: "on", endsAt: "2026-12-05T10:00:00.000Z" }],
    onFrame: (frame) => {
      received.push(frame);
      changed.notify();
    },
    onProblem: (problem) => {
      problems.push(problem);
      changed.notify();
    },
  });
  try {
    const a = await client(`${dir}/console.sock`);
    const b = await client(`${dir}/console.sock`);
    await a.until(1);
    await b.until(1);
    server.broadcast({ t: "output", data: "U-Boot> " });
    await a.until(2);
    await b.until(2);
    assertEquals(a.frames, [
      { t: "state", power: "on", endsAt: "2026-12-05T10:00:00.000Z" },
      { t: "output", data: "U-Boot> " },
    ]);
    await a.send({ t: "input", data: "help\r" });
    await b.send({ t: "power", action: "reset", by: "alice" });
    await b.raw('{"t":"power","action":"explode","by":"x"}\n');
    await changed.until(() => received.length === 2 && problems.length === 1, 5000, "two frames and a problem");
    assertEquals(received.map((f) => f.t).sort(), ["input", "power"]);
    assertEquals(problems, ["action must be on, off or reset"]);
    // A connection that sends a line without end is dropped; the others stay.
    await a.raw("x".repeat(MAX_FRAME_LINE + 10)).catch(() => {}); // the server may hang up before the end
    await a.closed;
    assertEquals(server.connections, 1);
    b.close();
  } finally {
    await server.close();
  }
  let gone = false;
  try {
    Deno.statSync(`${dir}/console.sock`);
  } catch {
    gone = true;
  }
  assert(gone, "the socket file is removed when the console closes");
  await Deno.remove(dir, { recursive: true });
});
