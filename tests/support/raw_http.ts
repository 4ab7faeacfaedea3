/**
 * HTTP the way an attacker speaks it: raw bytes on a TCP socket, so a test can
 * send a chunked body that never ends, headers no client library would send,
 * or a request and then never read the answer.
 */
import { concatBytes } from "../../actors/bytes.ts";

export interface RawResponse {
  /** The status code, or 0 when the server closed without answering. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** How many body bytes were written before the server answered or closed. */
  readonly sent: number;
}

const encoder = new TextEncoder();

/** `host:port` of an `http://` URL. */
export function hostPort(url: string): { hostname: string; port: number } {
  const parsed = new URL(url);
  return { hostname: parsed.hostname, port: Number(parsed.port) };
}

/**
 * Sends `head` (request line and headers, without the blank line) and then the
 * body chunks, chunk-encoded if `chunked`, until the server answers; reads the
 * answer until the server closes. Fails after `timeoutMs`.
 */
export async function rawRequest(
  url: string,
  head: string,
  body: Iterable<Uint8Array> = [],
  options: { chunked?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const conn = await Deno.connect(hostPort(url));
  const received: Uint8Array[] = [];
  let answered = false;
  const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 10_000);
  const reading = (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        received.push(buffer.slice(0, n));
        answered = true;
        // A whole answer with a length is all there is to read: the server may keep the connection open after it.
        if (complete(received)) break;
      }
    } catch { /* reset or closed by the timer */ }
  })();
  let sent = 0;
  try {
    await conn.write(encoder.encode(`${head.replace(/\r?\n$/, "")}\r\n\r\n`));
    for (const chunk of body) {
      if (answered) break;
      if (options.chunked) {
        await conn.write(encoder.encode(`${chunk.byteLength.toString(16)}\r\n`));
        await conn.write(chunk);
        await conn.write(encoder.encode("\r\n"));
      } else {
        await conn.write(chunk);
      }
      sent += chunk.byteLength;
      // Let the reader see an early answer before the next chunk goes out.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (options.chunked && !answered) await conn.write(encoder.encode("0\r\n\r\n"));
  } catch { /* the server stopped reading: its answer, if any, is read below */ }
  await reading;
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* already closed */ }
  const text = new TextDecoder().decode(concatBytes(received));
  const split = text.indexOf("\r\n\r\n");
  const responseHead = split === -1 ? text : text.slice(0, split);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(responseHead)?.[1];
  return {
    status: status ? Number(status) : 0,
    head: responseHead,
    body: split === -1 ? "" : text.slice(split + 4),
    sent,
  };
}

/** Whether `received` holds a response head and as much body as its Content-Length says. */
function complete(received: Uint8Array[]): boolean {
  const text = new TextDecoder().decode(concatBytes(received));
  const split = text.indexOf("\r\n\r\n");
  if (split === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))?.[1];
  return length !== undefined && new TextEncoder().encode(text.slice(split + 4)).byteLength >= Number(length);
}

/** `count` chunks of `size` bytes of `fill`. */
export function* repeatedChunks(count: number, size: number, fill = 0x41): Iterable<Uint8Array> {
  const chunk = new Uint8Array(size).fill(fill);
  for (let i = 0; i < count; i++) yield chunk;
}

/**
 * Opens a connection, sends `head`, and never reads: the server's writes pile up
 * in the socket buffers until the server gives up on it. `drain()` reads what the
 * server sent until it closes (or `timeoutMs`), and returns how many bytes and
 * whether it closed.
 */
export async function stalledClient(url: string, head: string): Promise<StalledClient> {
  const conn = await Deno.connect(hostPort(url));
  await conn.write(encoder.encode(`${head.replace(/\r?\n$/, "")}\r\n\r\n`));
  return new StalledClient(conn);
}

export class StalledClient {
  constructor(readonly conn: Deno.TcpConn) {}

  /** Reads until the server closes or `timeoutMs`; `tail` is the last 64 bytes it sent. */
  async drain(timeoutMs: number): Promise<{ bytes: number; closed: boolean; head: string; tail: Uint8Array }> {
    const buffer = new Uint8Array(256 * 1024);
    let bytes = 0;
    let head = "";
    let tail = new Uint8Array(0);
    let closed = false;
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) {
          closed = true;
          break;
        }
        if (bytes === 0) head = new TextDecoder().decode(buffer.subarray(0, Math.min(n, 512)));
        bytes += n;
        const joined = concatBytes([tail, buffer.subarray(0, n)]);
        tail = joined.slice(Math.max(0, joined.byteLength - 64));
      }
    } catch {
      /* closed by the timer, or reset by the server */
      closed = !this.#closedByUs;
    }
    clearTimeout(timer);
    this.close();
    return { bytes, closed, head, tail };
  }

  #closedByUs = false;

  close(): void {
    if (this.#closedByUs) return;
    this.#closedByUs = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}
