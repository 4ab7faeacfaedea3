/**
 * The device's end of fastboot's TCP transport (protocol v1, as Debian's
 * `fastboot -s tcp:HOST:PORT` speaks it): a four-byte "FBnn" handshake each
 * way, then every message framed by an eight-byte big-endian length. Commands
 * are at most 4096 bytes and a download's data may come in any number of
 * frames; a frame longer than the reader allows ends the session instead of
 * growing a buffer.
 */

/** The longest command the fastboot protocol allows. */
export const MAX_COMMAND = 4096;

export class FastbootTcpSession {
  #buffer = new Uint8Array(0);
  /** Bytes of the current data frame not read yet (a download's frames may be split across reads). */
  #frameLeft = 0;

  constructor(private readonly conn: Deno.Conn) {}

  /** Exchanges the handshake; false when the other side is not a fastboot client (the session is then over). */
  async handshake(): Promise<boolean> {
    const hello = await this.#read(4);
    if (!hello || hello[0] !== 0x46 || hello[1] !== 0x42) return false; // "FB"
    const version = Number(new TextDecoder().decode(hello.subarray(2)));
    if (!Number.isInteger(version) || version < 1) return false;
    await this.conn.write(new TextEncoder().encode("FB01"));
    return true;
  }

  /** The next command, or undefined when the client is gone or sent something that is not one. */
  async command(): Promise<string | undefined> {
    const length = await this.#frameLength();
    if (length === undefined || length === 0 || length > MAX_COMMAND) return undefined;
    const body = await this.#read(length);
    return body ? new TextDecoder("latin1").decode(body) : undefined;
  }

  /**
   * A download's `total` bytes, delivered in pieces to `sink` as they come, over as many frames as the client sends;
   * false when the client went away first.
   */
  async data(total: number, sink: (piece: Uint8Array) => void): Promise<boolean> {
    let left = total;
    while (left > 0) {
      if (this.#frameLeft === 0) {
        const length = await this.#frameLength();
        if (length === undefined) return false;
        // A frame running past the announced size is a broken client: the session ends.
        if (length > left) return false;
        this.#frameLeft = length;
      }
      const piece = await this.#readSome(Math.min(this.#frameLeft, left));
      if (!piece) return false;
      this.#frameLeft -= piece.length;
      left -= piece.length;
      sink(piece);
    }
    return true;
  }

  /** Sends one response ("OKAY…", "FAIL…", "INFO…", "DATA…"), cut to the protocol's 256 bytes. */
  async send(response: string): Promise<void> {
    const body = new TextEncoder().encode(response).subarray(0, 256);
    const frame = new Uint8Array(8 + body.length);
    new DataView(frame.buffer).setBigUint64(0, BigInt(body.length));
    frame.set(body, 8);
    let written = 0;
    while (written < frame.length) written += await this.conn.write(frame.subarray(written));
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  async #frameLength(): Promise<number | undefined> {
    const header = await this.#read(8);
    if (!header) return undefined;
    const length = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0);
    return length > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(length);
  }

  /** Exactly `n` bytes, or undefined at the end of the stream. */
  async #read(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      const piece = await this.#readSome(n - have);
      if (!piece) return undefined;
      out.set(piece, have);
      have += piece.length;
    }
    return out;
  }

  /** Between one and `max` bytes, or undefined at the end of the stream. */
  async #readSome(max: number): Promise<Uint8Array | undefined> {
    if (this.#buffer.length === 0) {
      const chunk = new Uint8Array(256 * 1024);
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null || n === 0) return undefined;
      this.#buffer = chunk.subarray(0, n);
    }
    const piece = this.#buffer.subarray(0, Math.min(max, this.#buffer.length));
    this.#buffer = this.#buffer.subarray(piece.length);
    return piece;
  }
}
