/**
 * LAVA's coordinator framing: one request per TCP connection, the payload's
 * length as 8 upper-case hex digits, then the payload (JSON, UTF-8); the reply
 * is framed the same way. Reading is bounded by `maxLength`, and memory grows
 * with the bytes that actually arrive, never with the length a peer declares:
 * a header claiming 2 GiB costs nothing until 2 GiB are sent, and anything
 * over `maxLength` is refused before it is read.
 *
 * Shared by the two ends: the coordinator (coordinator/server.ts) and a MultiNode
 * sub-job's dispatcher (worker/dispatch/multinode.ts).
 */
import { concatBytes } from "../bytes.ts";

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** What Python's `int(x, 16)` accepts for the 8 header bytes, as LAVA's coordinator reads them. */
const HEADER = /^\s*\+?(0[xX])?[0-9A-Fa-f_]+\s*$/;
/**
 * Reads start this small — a LAVA request fits — and double while the peer
 * keeps filling them, up to the largest: a peer that declares a big frame and
 * stalls pins 1 KiB, one that sends it is read in big pieces.
 */
const FIRST_CHUNK = 1024;
const LARGEST_CHUNK = 64 * 1024;
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

/** Reads up to `n` bytes — fewer when the peer closes first — holding only what has arrived. */
async function readUpTo(conn: Readable, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let filled = 0;
  let chunk = FIRST_CHUNK;
  while (filled < n) {
    const buffer = new Uint8Array(Math.min(chunk, n - filled));
    const got = await conn.read(buffer);
    if (got === null) break;
    chunks.push(got === buffer.length ? buffer : buffer.slice(0, got));
    filled += got;
    if (got === buffer.length) chunk = Math.min(chunk * 2, LARGEST_CHUNK);
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

/** The side of a connection a frame is read from. */
export type Readable = Pick<Deno.Conn, "read">;
/** The side of a connection a frame is written to. */
export type Writable = Pick<Deno.Conn, "write">;

export interface ReadOptions {
  /** Longest payload accepted (LAVA's clients refuse to send more than 0xFFFE). */
  readonly maxLength: number;
}

/** Reads one frame's payload; throws {@link FrameError} for a frame that is broken. */
export async function readFrame(conn: Readable, options: ReadOptions): Promise<string> {
  const header = await readUpTo(conn, 8);
  if (header.length < 8) throw new FrameError(`the connection closed after ${header.length} of 8 length digits`);
  const digits = new TextDecoder().decode(header);
  if (!HEADER.test(digits)) throw new FrameError(`the length ${JSON.stringify(digits)} is not 8 hex digits`);
  const length = parseInt(digits.trim().replace(/^\+/, "").replace(/^0[xX]/, "").replaceAll("_", ""), 16);
  if (length > options.maxLength) {
    throw new FrameError(`a payload of ${length} bytes is over the limit of ${options.maxLength} bytes`);
  }
  const body = await readUpTo(conn, length);
  if (body.length < length) throw new FrameError(`the payload ended after ${body.length} of ${length} bytes`);
  try {
    return decoder.decode(body);
  } catch {
    throw new FrameError("the payload is not UTF-8");
  }
}

export async function writeFrame(conn: Writable, payload: string): Promise<void> {
  const frame = encodeFrame(payload);
  let written = 0;
  while (written < frame.length) written += await conn.write(frame.subarray(written));
}

/**
 * Reads whatever else the peer sends until it closes its side (LAVA's clients
 * half-close after their request): for a request whose header understated its
 * length, which LAVA's coordinator happens to accept. Throws {@link FrameError}
 * when more than `maxLength` bytes follow.
 */
export async function readRest(conn: Readable, maxLength: number): Promise<Uint8Array> {
  const rest = await readUpTo(conn, maxLength + 1);
  if (rest.length > maxLength) throw new FrameError(`a request runs on past the limit of ${maxLength} bytes`);
  return rest;
}
