/**
 * A reservation's console from the command line: the master's console
 * WebSocket (master/http/rest/reservations.ts) as a connection that hands on
 * each frame and sends the holder's requests, and a local terminal attached to
 * it — raw mode, keys to the device, the device's output to the screen, and an
 * escape key for the rest (detach, power, release, take the keyboard).
 */
import type { ViewerFrame, ViewerRequest } from "../lab/consoles.ts";
import type { ApiClient } from "./api_client.ts";

export class ConsoleConnection {
  readonly #socket: WebSocket;
  /** Resolves with why the console closed (the reservation ended, the connection dropped). */
  readonly closed: Promise<string>;

  private constructor(socket: WebSocket, onFrame: (frame: ViewerFrame) => void) {
    this.#socket = socket;
    let reason = "the connection closed";
    this.closed = new Promise((resolve) => {
      socket.addEventListener("message", (event) => {
        let frame: ViewerFrame;
        try {
          frame = JSON.parse(String(event.data));
        } catch {
          return;
        }
        if (frame.t === "ended") reason = frame.reason;
        onFrame(frame);
      });
      socket.addEventListener("close", () => resolve(reason));
    });
  }

  /** Opens the console of reservation `job` (its id, as the API names jobs). */
  static async open(client: ApiClient, job: string, onFrame: (frame: ViewerFrame) => void): Promise<ConsoleConnection> {
    const socket = await client.websocket(`/api/v1/jobs/${encodeURIComponent(job)}/console`);
    return new ConsoleConnection(socket, onFrame);
  }

  send(request: ViewerRequest): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(request));
  }

  close(): void {
    this.#socket.close();
  }
}

/** Ctrl-]: as telnet's, the key that is never meant for the device. */
export const ESCAPE_KEY = 0x1d;

/** What follows the escape key. */
const ESCAPES: Readonly<Record<string, { readonly help: string; readonly request?: ViewerRequest }>> = {
  q: { help: "detach (the reservation goes on)" },
  r: { help: "reset the device", request: { t: "power", action: "reset" } },
  o: { help: "power on", request: { t: "power", action: "on" } },
  f: { help: "power off", request: { t: "power", action: "off" } },
  x: { help: "release the reservation", request: { t: "release" } },
  t: { help: "take the keyboard", request: { t: "take" } },
};

export const ESCAPE_HELP = `Ctrl-] then: ${Object.entries(ESCAPES).map(([k, e]) => `${k} ${e.help}`).join(", ")}; ` +
  "Ctrl-] again sends Ctrl-]";

export interface TerminalIo {
  readonly input: ReadableStream<Uint8Array>;
  /** Switches the terminal's raw mode; absent when the input is not a terminal. */
  readonly setRaw?: (raw: boolean) => void;
  write(bytes: Uint8Array): void;
}

/** Lines of our own, set apart from the device's output. */
export function aside(text: string): string {
  return `\r\n[basalt] ${text}\r\n`;
}

/** Describes a frame that is not the device's output, for the terminal. */
export function describeFrame(frame: ViewerFrame): string | undefined {
  switch (frame.t) {
    case "output":
      return undefined;
    case "state":
      return `power ${frame.power}; the reservation ends at ${frame.endsAt}`;
    case "notice":
      return frame.text;
    case "keyboard":
      return frame.yours
        ? "you hold the keyboard"
        : `${frame.holder ?? "nobody"} holds the keyboard (Ctrl-] t takes it)`;
    case "ended":
      return frame.reason;
  }
}

/**
 * Runs the terminal until the console closes or the user detaches; returns why it stopped. The terminal is put
 * in raw mode while it runs, when it is one.
 */
export async function attachTerminal(connection: ConsoleConnection, io: TerminalIo): Promise<string> {
  io.setRaw?.(true);
  const encoder = new TextEncoder();
  const reader = io.input.getReader();
  let detached: string | undefined;
  const typing = (async () => {
    let escaped = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done || detached) return;
      let plain: number[] = [];
      const flush = () => {
        if (plain.length > 0) connection.send({ t: "input", data: new TextDecoder().decode(new Uint8Array(plain)) });
        plain = [];
      };
      for (const byte of value) {
        if (escaped) {
          escaped = false;
          if (byte === ESCAPE_KEY) {
            plain.push(byte);
            continue;
          }
          const command = ESCAPES[String.fromCharCode(byte)];
          if (!command) {
            io.write(encoder.encode(aside(ESCAPE_HELP)));
            continue;
          }
          flush();
          if (!command.request) {
            detached = "detached";
            connection.close();
            return;
          }
          connection.send(command.request);
        } else if (byte === ESCAPE_KEY) {
          escaped = true;
        } else {
          plain.push(byte);
        }
      }
      flush();
    }
  })();
  try {
    const reason = await connection.closed;
    return detached ?? reason;
  } finally {
    reader.cancel().catch(() => {});
    reader.releaseLock();
    await typing.catch(() => {});
    io.setRaw?.(false);
  }
}
