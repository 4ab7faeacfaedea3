/**
 * Lab users, their passwords and their API tokens. A token is shown once, when
 * it is made; the database keeps only its SHA-256, which is enough because
 * tokens are long random strings; passwords are people's, so they get a slow,
 * memory-hard hash (passwords.ts).
 */
import type { Kysely } from "kysely";
import { AlreadyExistsError, explainConstraint, InvalidValueError, NotFoundError } from "./errors.ts";
import { definedOnly } from "./columns.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { Database, User } from "./schema.ts";
import { sha256Hex } from "../../actors/digest.ts";

export interface NewUser {
  readonly username: string;
  readonly email?: string;
  readonly superuser?: boolean;
}

export async function addUser(db: Kysely<Database>, user: NewUser): Promise<User> {
  return await explainConstraint(
    () =>
      db.insertInto("users")
        .values({
          username: user.username,
          email: user.email ?? "",
          is_superuser: user.superuser ?? false,
          password_hash: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    {
      unique: () => new AlreadyExistsError(`user ${JSON.stringify(user.username)} already exists`),
      check: () =>
        new InvalidValueError(
          `user name ${JSON.stringify(user.username)} is not valid: use 1-150 letters, digits and @.+_-`,
        ),
    },
  );
}

export async function findUser(db: Kysely<Database>, username: string): Promise<User | undefined> {
  return await db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
}

export async function getUser(db: Kysely<Database>, username: string): Promise<User> {
  const user = await findUser(db, username);
  if (!user) throw new NotFoundError(`user ${JSON.stringify(username)} does not exist`);
  return user;
}

export async function listUsers(db: Kysely<Database>): Promise<User[]> {
  return await db.selectFrom("users").selectAll().orderBy("username").execute();
}

export interface IssuedToken {
  readonly id: number;
  /** The secret itself; not stored anywhere, so print it now or lose it. */
  readonly token: string;
}

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_LENGTH = 48;

/** A random token of letters and digits, as LAVA issues them (safe in URLs and Basic auth). */
export function generateToken(length = TOKEN_LENGTH): string {
  const out: string[] = [];
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % TOKEN_ALPHABET.length);
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out.push(TOKEN_ALPHABET[byte % TOKEN_ALPHABET.length]);
    }
  }
  return out.join("");
}

export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}

export async function issueToken(db: Kysely<Database>, username: string, description = ""): Promise<IssuedToken> {
  const user = await getUser(db, username);
  const token = generateToken();
  const row = await db.insertInto("api_tokens")
    .values({ user_id: user.id, token_hash: await hashToken(token), description })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

export interface TokenInfo {
  readonly id: number;
  readonly description: string;
  readonly created_at: Date;
  readonly last_used_at: Date | null;
}

export async function listTokens(db: Kysely<Database>, username: string): Promise<TokenInfo[]> {
  const user = await getUser(db, username);
  return await db.selectFrom("api_tokens")
    .select(["id", "description", "created_at", "last_used_at"])
    .where("user_id", "=", user.id)
    .orderBy("id")
    .execute();
}

/**
 * The active user who owns `token`, if `username` names them; records the use.
 * Used for HTTP Basic `user:token`, the way lavacli authenticates.
 */
export async function authenticate(db: Kysely<Database>, username: string, token: string): Promise<User | undefined> {
  const hash = await hashToken(token);
  const row = await db.selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("users")
    .select("api_tokens.id as token_id")
    .where("api_tokens.token_hash", "=", hash)
    .where("users.username", "=", username)
    .where("users.is_active", "=", true)
    .executeTakeFirst();
  if (!row) return undefined;
  await db.updateTable("api_tokens").set({ last_used_at: new Date() }).where("id", "=", row.token_id).execute();
  const { token_id: _, ...user } = row;
  return user;
}

/** The active user who owns `token`, whoever they are: REST's `Authorization: Token <secret>`. */
export async function authenticateToken(db: Kysely<Database>, token: string): Promise<User | undefined> {
  const hash = await hashToken(token);
  const row = await db.selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .selectAll("users")
    .where("api_tokens.token_hash", "=", hash)
    .where("users.is_active", "=", true)
    .executeTakeFirst();
  return row;
}

/** Deletes one of a user's tokens; false when the user has no token of that id. */
export async function deleteToken(db: Kysely<Database>, username: string, id: number): Promise<boolean> {
  const user = await getUser(db, username);
  const result = await db.deleteFrom("api_tokens").where("id", "=", id).where("user_id", "=", user.id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export interface UserChange {
  readonly email?: string;
  readonly superuser?: boolean;
  /** False: the user can no longer log in, and their tokens and web sessions stop working at once. */
  readonly active?: boolean;
}

export async function updateUser(db: Kysely<Database>, username: string, change: UserChange): Promise<User> {
  const set = definedOnly({ email: change.email, is_superuser: change.superuser, is_active: change.active });
  if (Object.keys(set).length === 0) return await getUser(db, username);
  const row = await db.updateTable("users").set(set).where("username", "=", username).returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`user ${JSON.stringify(username)} does not exist`);
  return row;
}

/** Sets (or, with null, removes) the password the user logs in to the web UI with. */
export async function setPassword(db: Kysely<Database>, username: string, password: string | null): Promise<void> {
  const hash = password === null ? null : await hashPassword(password);
  const result = await db.updateTable("users").set({ password_hash: hash }).where("username", "=", username)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`user ${JSON.stringify(username)} does not exist`);
}

/** The active user whose password this is; records the login. */
export async function authenticatePassword(
  db: Kysely<Database>,
  username: string,
  password: string,
): Promise<User | undefined> {
  const user = await findUser(db, username);
  if (!user?.is_active || !await verifyPassword(password, user.password_hash)) return undefined;
  await db.updateTable("users").set({ last_login: new Date() }).where("id", "=", user.id).execute();
  return user;
}
