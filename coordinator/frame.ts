/**
 * LAVA's coordinator framing: one request per TCP connection, the payload's
 * length as 8 upper-case hex digits, then the payload (JSON, UTF-8); the reply
 * is framed the same way. Reading is bounded — by the declared length, by
 * `maxLength`, by a deadline — so a peer that lies or stalls costs a timeout,
 * never memory or a stuck connection.
 */

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** What Python's `int(x, 16)` accepts for the 8 header bytes, as LAVA's coordinator reads them. */
const HEADER = /^\s*\+?(0[xX])?[0-9A-Fa-f_]+\s*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeFrame(payload: string): Uint8Array<ArrayBuffer> {
  const body = encoder.encode(payload);
  const header = body.length.toString(16).toUpperCase().padStart(8, "0");
  const frame = new Uint8Array(8 + body.length);
  frame.set(encoder.encode(header));
  frame.set(body, 8);
  return frame;
}

/** Reads exactly `n` bytes, or fewer when the peer closes first. */
async function readUpTo(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(out.subarray(filled));
    if (got === null) break;
    filled += got;
  }
  return out.subarray(0, filled);
}

export interface ReadOptions {
  /** Longest payload accepted (LAVA's clients refuse to send more than 0xFFFE). */
  readonly maxLength: number;
}

/** Reads one frame's payload; throws {@link FrameError} for a frame that is broken. */
export async function readFrame(conn: Deno.Conn, options: ReadOptions): Promise<string> {
  const header = await readUpTo(conn, 8);
  if (header.length < 8) throw new FrameError(`the connection closed after ${header.length} of 8 length digits`);
  const digits = new TextDecoder().decode(header);
  if (!HEADER.test(digits)) throw new FrameError(`the length ${JSON.stringify(digits)} is not 8 hex digits`);
  const length = parseInt(digits.trim().replace(/^\+/, "").replace(/^0[xX]/, "").replaceAll("_", ""), 16);
  if (length > options.maxLength) {
    throw new FrameError(`a payload of ${length} bytes is over the ${options.maxLength} limit`);
  }
  const body = await readUpTo(conn, length);
  if (body.length < length) throw new FrameError(`the payload ended after ${body.length} of ${length} bytes`);
  try {
    return decoder.decode(body);
  } catch {
    throw new FrameError("the payload is not UTF-8");
  }
}

export async function writeFrame(conn: Deno.Conn, payload: string): Promise<void> {
  const frame = encodeFrame(payload);
  let written = 0;
  while (written < frame.length) written += await conn.write(frame.subarray(written));
}

/**
 * Reads whatever else the peer sends until it closes its side (LAVA's clients
 * half-close after their request): for a request whose header understated its
 * length, which LAVA's coordinator happens to accept.
 */
export async function readRest(conn: Deno.Conn, maxLength: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(4096);
  while (total < maxLength) {
    const got = await conn.read(buffer);
    if (got === null) break;
    chunks.push(buffer.slice(0, got));
    total += got;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
