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

const HEX8 = /^[0-9A-Fa-f]{8}$/;
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
  if (!HEX8.test(digits)) throw new FrameError(`the length ${JSON.stringify(digits)} is not 8 hex digits`);
  const length = parseInt(digits, 16);
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
