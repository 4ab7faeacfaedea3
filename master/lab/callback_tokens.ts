/**
 * A user's own callback tokens, kept by the lab: the secrets a job's callback
 * sends when its `token:` names one (webhooks.ts). Each user sees and changes
 * only theirs; the secret is shown once, when it is made, and never again.
 */
import {
  addCallbackToken,
  type CallbackTokenInfo,
  deleteCallbackToken,
  listCallbackTokens,
} from "../storage/callback_tokens.ts";
import { generateToken } from "../storage/users.ts";
import type { Viewer } from "./visibility.ts";
import type { Lab } from "./lab.ts";
import { LabRequestError } from "./request_error.ts";

function box(lab: Lab) {
  if (!lab.secrets) {
    throw new LabRequestError(
      "this master keeps no callback tokens: it was started without a secrets key (--secrets-key FILE)",
      400,
    );
  }
  return lab.secrets;
}

/** Keeps a secret under `description`; a random one when none is given. Returns the secret, for showing once. */
export async function addOwnCallbackToken(
  lab: Lab,
  user: Viewer,
  description: string,
  secret?: string,
): Promise<{ token: CallbackTokenInfo; secret: string }> {
  const value = secret || generateToken();
  const token = await addCallbackToken(lab.db, box(lab), user.id, description, value);
  return { token, secret: value };
}

export function ownCallbackTokens(lab: Lab, user: Viewer): Promise<CallbackTokenInfo[]> {
  return listCallbackTokens(lab.db, user.id);
}

export function deleteOwnCallbackToken(lab: Lab, user: Viewer, description: string): Promise<void> {
  return deleteCallbackToken(lab.db, user.id, description);
}
