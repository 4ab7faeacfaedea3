/**
 * Ways to reach a device's console: a local process (QEMU's stdio, a
 * `connection_command` such as `telnet ser2net-host 7001`), or a TCP socket.
 * Serial lines are in serial.ts.
 */
import { textStream } from "../../actors/text_stream.ts";
import { type ConsoleTransport, MAX_LINE } from "./console.ts";

export interface ProcessConsole extends ConsoleTransport {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** The process's stderr, line by line, for the log. */
  readonly stderrLines: AsyncIterable<string>;
}

/**
 * Runs `command` (through `sh -c` when given as one string, as LAVA's device
 * dictionaries write them) in its own process group, so stopping it stops
 * everything it started.
 */
export function processConsole(
  command: string | readonly string[],
  options: { env?: Record<string, string> } = {},
): ProcessConsole {
  const [program, args] = typeof command === "string"
    ? ["sh", ["-c", `exec ${command}`]]
    : [command[0], command.slice(1)];
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    detached: true,
  }).spawn();
  const writer = child.stdin.getWriter();
  let closed = false;
  return {
    pid: child.pid,
    readable: child.stdout,
    status: child.status,
    stderrLines: lines(child.stderr),
    write: async (bytes) => {
      await writer.write(bytes);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await writer.close().catch(() => {});
      await terminateGroup(child.pid, child.status);
    },
  };
}

/** SIGTERM to the process group, then SIGKILL if it is still there after `graceMs`. */
export async function terminateGroup(pid: number, status: Promise<unknown>, graceMs = 3000): Promise<void> {
  const kill = (signal: Deno.Signal) => {
    try {
      Deno.kill(-pid, signal);
    } catch {
      try {
        Deno.kill(pid, signal);
      } catch { /* already gone */ }
    }
  };
  kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    status.then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (!exited) {
    kill("SIGKILL");
    await status;
  }
}

/** A stream's lines; one longer than MAX_LINE comes in pieces, so no buffer grows without bound. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of textStream(stream)) {
    let start = 0;
    while (start <= chunk.length) {
      const newline = chunk.indexOf("\n", start);
      buffer += chunk.slice(start, newline < 0 ? chunk.length : newline);
      while (buffer.length > MAX_LINE) {
        yield buffer.slice(0, MAX_LINE);
        buffer = buffer.slice(MAX_LINE);
      }
      if (newline < 0) break;
      yield buffer;
      buffer = "";
      start = newline + 1;
    }
  }
  if (buffer) yield buffer;
}

/** A console on a TCP socket (ser2net in raw mode, QEMU's `-serial tcp:`). */
export async function tcpConsole(hostname: string, port: number): Promise<ConsoleTransport> {
  const conn = await Deno.connect({ hostname, port });
  let closed = false;
  // Read straight from the socket: a device's lines arrive one wake-up each, and the
  // socket's byte stream costs a dispatch process about twice as much CPU a wake-up.
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        if (closed) return;
        throw error;
      }
      if (n === null) return;
      yield buffer.slice(0, n);
    }
  }
  return {
    readable: chunks(),
    write: async (bytes) => {
      let written = 0;
      while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    },
    close: () => {
      if (!closed) {
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      return Promise.resolve();
    },
  };
}
