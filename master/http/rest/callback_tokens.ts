/** The caller's own callback tokens in the JSON API: list, add (the secret shown once), remove. */
import type { Hono } from "hono";
import { addOwnCallbackToken, deleteOwnCallbackToken, ownCallbackTokens } from "../../lab/callback_tokens.ts";
import { requireUser } from "../auth.ts";
import type { HttpEnv } from "../env.ts";
import { HttpError } from "../errors.ts";
import { readJsonObject, type RestContext } from "./context.ts";

export function callbackTokenRoutes(app: Hono<HttpEnv>, { lab }: RestContext): void {
  app.get("/api/v1/callback-tokens", async (c) => c.json({ results: await ownCallbackTokens(lab, requireUser(c)) }));
  app.post("/api/v1/callback-tokens", async (c) => {
    const user = requireUser(c);
    const body = await readJsonObject(c);
    if (typeof body.description !== "string" || (body.secret !== undefined && typeof body.secret !== "string")) {
      throw new HttpError(400, 'the body must be {"description": "...", "secret": "..." (optional)}');
    }
    const { token, secret } = await addOwnCallbackToken(lab, user, body.description, body.secret as string);
    return c.json({ ...token, secret: body.secret === undefined ? secret : undefined }, 201);
  });
  app.delete("/api/v1/callback-tokens/:description", async (c) => {
    await deleteOwnCallbackToken(lab, requireUser(c), c.req.param("description"));
    return c.json({ message: "callback token removed" });
  });
}
