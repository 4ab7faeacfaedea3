/**
 * A device's `connection_command`, opened. Besides a shell command (LAVA's
 * `telnet ser2net-host 7001`), Basalt takes two URIs so a lab needs no helper
 * process for the common cases:
 *
 *   serial:///dev/ttyUSB0?baud=115200&parity=none&databits=8&stopbits=1
 *   tcp://ser2net-host:7001            (a raw TCP port, not telnet)
 */
import type { ConsoleTransport } from "./console.ts";
import { openSerial, type SerialSettings } from "./serial.ts";
import { processConsole, tcpConsole } from "./transports.ts";

export type Connection =
  | { readonly kind: "serial"; readonly path: string; readonly settings: SerialSettings }
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly kind: "command"; readonly command: string };

export class ConnectionSpecError extends Error {
  constructor(spec: string, problem: string) {
    super(`connection ${JSON.stringify(spec)}: ${problem}`);
    this.name = "ConnectionSpecError";
  }
}

const PARITIES = ["none", "even", "odd"] as const;

/** Reads a connection_command; anything that is not one of the URIs is a shell command. */
export function parseConnection(spec: string): Connection {
  const text = spec.trim();
  if (text.startsWith("serial://")) {
    const url = new URL(text);
    if (!url.pathname || url.pathname === "/") throw new ConnectionSpecError(spec, "names no device path");
    const number = (name: string, allowed: readonly number[]) => {
      const value = url.searchParams.get(name);
      if (value === null) return undefined;
      const n = Number(value);
      if (!allowed.includes(n) && !(allowed.length === 0 && Number.isInteger(n) && n > 0)) {
        throw new ConnectionSpecError(spec, `${name}=${value} is not a valid value`);
      }
      return n;
    };
    const parity = url.searchParams.get("parity") ?? undefined;
    if (parity !== undefined && !PARITIES.includes(parity as (typeof PARITIES)[number])) {
      throw new ConnectionSpecError(spec, `parity=${parity}: use none, even or odd`);
    }
    for (const key of url.searchParams.keys()) {
      if (!["baud", "parity", "databits", "stopbits"].includes(key)) {
        throw new ConnectionSpecError(spec, `unknown setting ${key} (baud, parity, databits, stopbits)`);
      }
    }
    return {
      kind: "serial",
      path: decodeURIComponent(url.pathname),
      settings: {
        baudRate: number("baud", []),
        dataBits: number("databits", [5, 6, 7, 8]) as SerialSettings["dataBits"],
        stopBits: number("stopbits", [1, 2]) as SerialSettings["stopBits"],
        parity: parity as SerialSettings["parity"],
      },
    };
  }
  if (text.startsWith("tcp://")) {
    const url = new URL(text);
    const port = Number(url.port);
    if (!url.hostname || !Number.isInteger(port) || port <= 0) {
      throw new ConnectionSpecError(spec, "needs a host and a port: tcp://host:port");
    }
    return { kind: "tcp", hostname: url.hostname.replace(/^\[|\]$/g, ""), port };
  }
  return { kind: "command", command: text };
}

export interface OpenedConnection {
  readonly transport: ConsoleTransport;
  /** What a connection process prints on stderr, for the log. */
  readonly stderrLines?: AsyncIterable<string>;
}

export async function openConnection(connection: Connection): Promise<OpenedConnection> {
  switch (connection.kind) {
    case "serial":
      return { transport: await openSerial(connection.path, connection.settings) };
    case "tcp":
      return { transport: await tcpConsole(connection.hostname, connection.port) };
    case "command": {
      const process = processConsole(connection.command);
      return { transport: process, stderrLines: process.stderrLines };
    }
  }
}
