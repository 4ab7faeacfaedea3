/**
 * A user's callback tokens: a job's `notify: callbacks: - token: NAME` names
 * one by its description, and the callback carries its secret (LAVA sends the
 * secret of the submitter's API token of that description; Basalt keeps only
 * hashes of API tokens, so the secrets meant for callbacks are kept here,
 * sealed with the master's key).
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secret_box.ts";
import { AlreadyExistsError, InvalidValueError, NotFoundError } from "./errors.ts";

export const MAX_CALLBACK_TOKENS = 50;
export const MAX_CALLBACK_SECRET = 4096;

export interface CallbackTokenInfo {
  readonly id: number;
  readonly description: string;
  readonly created_at: Date;
}

/** What a secret is sealed for: one user's token of one description, so a row copied elsewhere does not open. */
export function sealContext(userId: number, description: string): string {
  return `callback-token:${userId}:${description}`;
}

export async function addCallbackToken(
  db: Kysely<Database>,
  box: SecretBox,
  userId: number,
  description: string,
  secret: string,
): Promise<CallbackTokenInfo> {
  if (!/^[\x21-\x7e][\x20-\x7e]{0,199}$/.test(description)) {
    throw new InvalidValueError("a callback token's description is 1-200 printable characters");
  }
  if (!secret || secret.length > MAX_CALLBACK_SECRET || /[\r\n\0]/.test(secret)) {
    throw new InvalidValueError(`a callback secret is 1-${MAX_CALLBACK_SECRET} characters on one line`);
  }
  const sealed = await box.seal(secret, sealContext(userId, description));
  return await db.transaction().execute(async (trx) => {
    const { count } = await trx.selectFrom("callback_tokens").select((eb) => eb.fn.countAll<number>().as("count"))
      .where("user_id", "=", userId).executeTakeFirstOrThrow();
    if (Number(count) >= MAX_CALLBACK_TOKENS) {
      throw new InvalidValueError(`a user keeps at most ${MAX_CALLBACK_TOKENS} callback tokens`);
    }
    const row = await trx.insertInto("callback_tokens").values({ user_id: userId, description, sealed })
      .onConflict((oc) => oc.columns(["user_id", "description"]).doNothing())
      .returning(["id", "description", "created_at"]).executeTakeFirst();
    if (!row) throw new AlreadyExistsError(`a callback token '${description}' already exists`);
    return { id: Number(row.id), description: row.description, created_at: new Date(row.created_at) };
  });
}

export async function listCallbackTokens(db: Kysely<Database>, userId: number): Promise<CallbackTokenInfo[]> {
  const rows = await db.selectFrom("callback_tokens").select(["id", "description", "created_at"])
    .where("user_id", "=", userId).orderBy("description").execute();
  return rows.map((r) => ({ id: Number(r.id), description: r.description, created_at: new Date(r.created_at) }));
}

export async function deleteCallbackToken(db: Kysely<Database>, userId: number, description: string): Promise<void> {
  const result = await db.deleteFrom("callback_tokens").where("user_id", "=", userId)
    .where("description", "=", description).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no callback token '${description}'`);
}

/** The sealed secret of the user's token of that description, if they keep one. */
export async function sealedCallbackToken(
  db: Kysely<Database>,
  userId: number,
  description: string,
): Promise<string | undefined> {
  const row = await db.selectFrom("callback_tokens").select("sealed").where("user_id", "=", userId)
    .where("description", "=", description).executeTakeFirst();
  return row?.sealed;
}
