/**
 * Passwords for the web login, stored as scrypt hashes (memory-hard: 32 MiB and
 * about 0.2 s per guess here), in a self-describing form
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` so the cost can rise later without
 * invalidating what is stored.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const COST = { log2N: 15, r: 8, p: 1 };
const KEY_BYTES = 32;
/** Long enough to resist guessing with a slow hash, short enough that hashing cannot be made a denial of service. */
export const PASSWORD_LENGTH = { min: 10, max: 200 };

export class PasswordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordError";
  }
}

function derive(password: string, salt: Buffer, cost: typeof COST): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFC"),
      salt,
      KEY_BYTES,
      { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r },
      (e, k) => e ? reject(e) : resolve(k),
    )
  );
}

/** Refuses a password outside {@link PASSWORD_LENGTH}, with the reason. */
export function checkPasswordRules(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_LENGTH.min) {
    throw new PasswordError(`a password has at least ${PASSWORD_LENGTH.min} characters`);
  }
  if (length > PASSWORD_LENGTH.max) throw new PasswordError(`a password has at most ${PASSWORD_LENGTH.max} characters`);
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordRules(password);
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ["scrypt", COST.log2N, COST.r, COST.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Whether `password` is the one `stored` was made from; false for anything not made by {@link hashPassword}. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split("$") ?? [];
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number);
  // Only costs this module could have written: a row edited by hand must not make a login take minutes.
  if (!(log2N >= 10 && log2N <= 20 && r >= 1 && r <= 16 && p >= 1 && p <= 4)) return false;
  if ([...password].length > PASSWORD_LENGTH.max) return false;
  const expected = Buffer.from(parts[5], "base64");
  if (expected.length !== KEY_BYTES) return false;
  const key = await derive(password, Buffer.from(parts[4], "base64"), { log2N, r, p });
  return timingSafeEqual(key, expected);
}
