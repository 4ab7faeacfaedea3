/**
 * CurveZMQ keys and their certificate files, in the format ZeroMQ's own tools
 * (czmq's zcert, pyzmq's `zmq.auth.create_certificates`, LAVA's
 * `create_certificate.py`) write: `NAME.key` holds the public key, `NAME.key_secret`
 * both. Keys made by LAVA can be used here unchanged, and the other way round.
 */
import { join } from "../../path.ts";
import { cString, libzmq, ZmqError } from "./ffi.ts";

/** Z85-encoded 32-byte keys, 40 characters each. */
export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

export function isZ85Key(text: string): boolean {
  return Z85_KEY.test(text);
}

export function generateKeyPair(): CurveKeyPair {
  const publicKey = new Uint8Array(41);
  const secretKey = new Uint8Array(41);
  if (libzmq().zmq_curve_keypair(publicKey, secretKey) !== 0) {
    throw new ZmqError("zmq_curve_keypair", libzmq().zmq_errno());
  }
  const decode = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, 40));
  return { publicKey: decode(publicKey), secretKey: decode(secretKey) };
}

/** The 32 raw bytes of a Z85 key (ZAP hands keys over in this form). */
export function z85Decode(key: string): Uint8Array {
  const out = new Uint8Array(32);
  if (libzmq().zmq_z85_decode(out, cString(key)) === null) throw new Error(`not a Z85 key: ${JSON.stringify(key)}`);
  return out;
}

export function z85Encode(bytes: Uint8Array<ArrayBuffer>): string {
  const out = new Uint8Array(Math.ceil(bytes.length * 5 / 4) + 1);
  if (libzmq().zmq_z85_encode(out, bytes, BigInt(bytes.length)) === null) {
    throw new Error("Z85 encoding needs a multiple of 4 bytes");
  }
  return new TextDecoder().decode(out.subarray(0, out.length - 1));
}

/** A certificate file that cannot be used, with the file named. */
export class CertificateError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "CertificateError";
  }
}

export interface Certificate {
  readonly publicKey: string;
  readonly secretKey: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Parses a ZPL certificate (the `curve` section's `public-key`/`secret-key`). */
export function parseCertificate(path: string, text: string): Certificate {
  const sections: Record<string, Record<string, string>> = {};
  let section: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    // Only whole lines are comments: '#' is also a Z85 digit inside keys.
    const line = raw.trimEnd();
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      section = line.trim();
      sections[section] ??= {};
      continue;
    }
    const match = /^\s+([\w.-]+)\s*=\s*(?:"([^"]*)"|(\S+))\s*$/.exec(line);
    if (match && section) sections[section][match[1]] = match[2] ?? match[3];
  }
  const publicKey = sections.curve?.["public-key"];
  const secretKey = sections.curve?.["secret-key"];
  if (publicKey === undefined) throw new CertificateError(path, "no curve public-key in this certificate");
  if (!isZ85Key(publicKey)) throw new CertificateError(path, "curve public-key is not a 40-character Z85 key");
  if (secretKey !== undefined && !isZ85Key(secretKey)) {
    throw new CertificateError(path, "curve secret-key is not a 40-character Z85 key");
  }
  return { publicKey, secretKey, metadata: sections.metadata ?? {} };
}

export async function readCertificate(path: string): Promise<Certificate> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CertificateError(path, `cannot read: ${(error as Error).message}`);
  }
  return parseCertificate(path, text);
}

/** Reads a secret certificate: both keys must be present. */
export async function readKeyPair(path: string): Promise<CurveKeyPair> {
  const cert = await readCertificate(path);
  if (cert.secretKey === undefined) {
    throw new CertificateError(path, "this is a public certificate; give the NAME.key_secret file");
  }
  return { publicKey: cert.publicKey, secretKey: cert.secretKey };
}

function certificateText(name: string, pair: CurveKeyPair, secret: boolean): string {
  const lines = [
    `#   ZeroMQ CURVE ${secret ? "**Secret** " : "Public "}Certificate for "${name}", made by Basalt on ${
      new Date().toISOString()
    }`,
    secret
      ? "#   Keep this file private: whoever holds it can act as this peer."
      : "#   Give this file to the peers that must accept this one.",
    "",
    "metadata",
    `    name = "${name}"`,
    "curve",
    `    public-key = "${pair.publicKey}"`,
  ];
  if (secret) lines.push(`    secret-key = "${pair.secretKey}"`);
  return lines.join("\n") + "\n";
}

/** The public certificate of a key pair (what a peer is given: never the secret key). */
export function publicCertificateText(name: string, publicKey: string): string {
  return certificateText(name, { publicKey, secretKey: "" }, false);
}

export interface WrittenCertificates {
  readonly publicPath: string;
  readonly secretPath: string;
}

/** Writes `NAME.key` and `NAME.key_secret` (mode 0600) into `directory`; refuses to overwrite. */
export async function writeCertificates(
  directory: string,
  name: string,
  pair: CurveKeyPair,
): Promise<WrittenCertificates> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new CertificateError(name, "a certificate name must be a host name (letters, digits, . _ -)");
  }
  await Deno.mkdir(directory, { recursive: true });
  const publicPath = join(directory, `${name}.key`);
  const secretPath = join(directory, `${name}.key_secret`);
  for (const path of [publicPath, secretPath]) {
    try {
      await Deno.lstat(path);
      throw new CertificateError(path, "already exists; remove it first to replace the key");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  await Deno.writeTextFile(secretPath, certificateText(name, pair, true), { mode: 0o600, createNew: true });
  await Deno.writeTextFile(publicPath, certificateText(name, pair, false), { mode: 0o644, createNew: true });
  return { publicPath, secretPath };
}

/**
 * The public keys in a directory of `NAME.key` files, mapped to NAME: the peers a
 * CurveZMQ server accepts. Unreadable files are reported, not skipped silently.
 */
export async function readAllowedKeys(directory: string): Promise<{ keys: Map<string, string>; problems: string[] }> {
  const keys = new Map<string, string>();
  const problems: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(directory));
  } catch (error) {
    return { keys, problems: [`${directory}: cannot read the allowed-keys directory: ${(error as Error).message}`] };
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile || !entry.name.endsWith(".key")) continue;
    try {
      const cert = await readCertificate(join(directory, entry.name));
      keys.set(cert.publicKey, entry.name.slice(0, -".key".length));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return { keys, problems };
}
