/**
 * Secrets the master must send but should not keep readable: a callback
 * token's secret is sealed with AES-256-GCM under a key kept in a file beside
 * the database, not in it, so a dump or a backup of the database alone reveals
 * none. The key file is made on first use (0600) and refused when others may
 * read it.
 */
import { Buffer } from "node:buffer";

const encodeBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const decodeBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

const NONCE_BYTES = 12;
const KEY_BYTES = 32;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export class SecretBox {
  private constructor(private readonly key: CryptoKey, readonly path: string) {}

  /** Reads the key at `path`, making one when there is none. */
  static async open(path: string): Promise<SecretBox> {
    let text: string;
    try {
      const info = await Deno.stat(path);
      if (info.mode !== null && (info.mode & 0o077) !== 0) {
        throw new SecretBoxError(`${path}: the secrets key may be read by others (chmod 600 it)`);
      }
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      text = encodeBase64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
      try {
        await Deno.writeTextFile(path, `${text}\n`, { mode: 0o600, createNew: true });
      } catch (raced) {
        if (!(raced instanceof Deno.errors.AlreadyExists)) throw raced;
        text = await Deno.readTextFile(path);
      }
    }
    const raw = decodeBase64(text.trim());
    if (raw.length !== KEY_BYTES) {
      throw new SecretBoxError(`${path}: not a secrets key (expected ${KEY_BYTES} bytes in base64)`);
    }
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    return new SecretBox(key, path);
  }

  /** The secret sealed: base64 of nonce and ciphertext; `context` (e.g. the owner) must match to open it. */
  async seal(secret: string, context: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
      this.key,
      new TextEncoder().encode(secret),
    );
    const out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
    out.set(iv);
    out.set(new Uint8Array(sealed), NONCE_BYTES);
    return encodeBase64(out);
  }

  /** The secret back; fails when it was sealed under another key or for another context. */
  async unseal(sealed: string, context: string): Promise<string> {
    try {
      const bytes = decodeBase64(sealed);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, NONCE_BYTES), additionalData: new TextEncoder().encode(context) },
        this.key,
        bytes.slice(NONCE_BYTES),
      );
      return new TextDecoder().decode(plain);
    } catch {
      throw new SecretBoxError(`a stored secret does not open with the key in ${this.path}`);
    }
  }
}
