/**
 * Logging in (with a user name and an API token, as lavacli does), logging out,
 * managing one's API tokens, callback tokens and password, and the forms that change things without
 * JavaScript — cancel, resubmit, device health — each checked against the
 * session's CSRF token.
 */
import type { Context, Hono } from "hono";
import { DeviceHealth } from "../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { Lab } from "../../master/lab/lab.ts";
import { LabRequestError } from "../../master/lab/request_error.ts";
import { DEFAULT_RESERVATION_MINUTES, MAX_RESERVATION_MINUTES, reserve } from "../../master/lab/reservations.ts";
import { updateLabDevice } from "../../master/lab/admin/devices.ts";
import { BODY_LIMITS } from "../../master/http/body.ts";
import { intParam } from "../../master/http/params.ts";
import type { Sessions } from "../../master/http/sessions.ts";
import { authenticatePassword, deleteToken, issueToken, listTokens } from "../../master/storage/users.ts";
import { setLabPassword } from "../../master/lab/admin/people.ts";
import { addOwnCallbackToken, deleteOwnCallbackToken, ownCallbackTokens } from "../../master/lab/callback_tokens.ts";
import { assertVisible, mayCancel, resolveJobId, resubmitJob } from "../../master/views/mod.ts";
import { formatTime } from "../components/badge.tsx";
import { checkCsrf, form, page, param, route, type WebEnv } from "../render.tsx";

function loginForm(csrf: string, message?: string) {
  return (
    <>
      {message && <p class="notice error" role="alert">{message}</p>}
      <form method="post" action="/web/login" class="inline">
        <input type="hidden" name="csrf" value={csrf} />
        <label>
          User <input type="text" name="username" autocomplete="username" required />
        </label>
        <label>
          Password or API token <input type="password" name="token" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
      </form>
      <p class="muted">
        Tokens come from an administrator (<code>deno task manage tokens add --user NAME</code>) or from your token
        page.
      </p>
    </>
  );
}

export function accountPages(app: Hono<WebEnv>, lab: Lab, sessions: Sessions): void {
  /** The login page, with a fresh form token and its cookie. */
  const loginPage = async (c: Context<WebEnv>, message?: string, status = 200) => {
    const { token, cookie } = await sessions.loginForm();
    c.header("Set-Cookie", cookie);
    return page(c, "Log in", loginForm(token, message), status);
  };
  app.get("/login", route((c) => loginPage(c)));

  app.post(
    "/web/login",
    route(async (c) => {
      const fields = await form(c, BODY_LIMITS.login);
      // Without this another site could log a browser in as the attacker, and read what its user then submits.
      if (!await sessions.checkLoginForm(c.req.header("Cookie"), fields.csrf)) {
        return await loginPage(c, "This login form has expired: log in again.", 403);
      }
      const session = await sessions.login(fields.username ?? "", fields.token ?? "");
      if (!session) return await loginPage(c, "Wrong user, password or token.", 401);
      c.header("Set-Cookie", sessions.cookie(session));
      c.header("Set-Cookie", sessions.clearLoginCookie(), { append: true });
      return c.redirect("/", 303);
    }),
  );

  app.post(
    "/web/logout",
    route(async (c) => {
      const fields = await form(c);
      const session = c.get("session");
      if (session && fields.csrf === session.csrf) sessions.end(session.id);
      c.header("Set-Cookie", sessions.clearCookie());
      return c.redirect("/", 303);
    }),
  );

  const tokensPage = async (c: Context<WebEnv>, created?: string, createdSecret?: string) => {
    const session = c.get("session");
    if (!session) return c.redirect("/login", 303);
    const tokens = await listTokens(lab.db, session.user.username);
    const callbackTokens = await ownCallbackTokens(lab, session.user);
    return page(
      c,
      "API tokens",
      <>
        {created && (
          <p class="notice" role="status">
            New token (shown only now): <code data-testid="new-token">{created}</code>
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Description</th>
              <th>Created</th>
              <th>Last used</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr>
                <td>{t.id}</td>
                <td>{t.description || "—"}</td>
                <td>{formatTime(t.created_at)}</td>
                <td>{formatTime(t.last_used_at)}</td>
                <td>
                  <form method="post" action={`/web/tokens/${t.id}/delete`}>
                    <input type="hidden" name="csrf" value={session.csrf} />
                    <button type="submit" class="danger">Delete</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>New token</h2>
        <form method="post" action="/web/tokens" class="inline">
          <input type="hidden" name="csrf" value={session.csrf} />
          <label>
            Description <input type="text" name="description" />
          </label>
          <button type="submit">Create</button>
        </form>
        <h2>Callback tokens</h2>
        <p class="muted">
          A job's <code>notify: callbacks: - token: DESCRIPTION</code> sends the secret kept here under that description
          {lab.secrets ? "" : " (this master was started without a secrets key: it keeps none)"}.
        </p>
        {createdSecret && (
          <p class="notice" role="status">
            New callback secret (shown only now): <code data-testid="new-callback-secret">{createdSecret}</code>
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th>Description</th>
              <th>Created</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {callbackTokens.map((t) => (
              <tr>
                <td>{t.description}</td>
                <td>{formatTime(t.created_at)}</td>
                <td>
                  <form method="post" action="/web/callback-tokens/delete">
                    <input type="hidden" name="csrf" value={session.csrf} />
                    <input type="hidden" name="description" value={t.description} />
                    <button type="submit" class="danger">Delete</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/web/callback-tokens" class="inline" aria-label="new callback token">
          <input type="hidden" name="csrf" value={session.csrf} />
          <label>
            Description <input type="text" name="description" required maxLength={200} />
          </label>
          <label>
            Secret (empty: make one) <input type="password" name="secret" autocomplete="off" />
          </label>
          <button type="submit">Keep</button>
        </form>
        <h2>Password</h2>
        <form method="post" action="/web/password" class="inline" aria-label="change my password">
          <input type="hidden" name="csrf" value={session.csrf} />
          <label>
            Current password (if you have one) <input type="password" name="current" autocomplete="current-password" />
          </label>
          <label>
            New password <input type="password" name="password" autocomplete="new-password" minLength={10} required />
          </label>
          <button type="submit">Change</button>
        </form>
      </>,
    );
  };
  app.get("/tokens", route((c) => tokensPage(c)));
  // One's own password: the current one is asked for when there is one, and the session goes on under the new one.
  app.post(
    "/web/password",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const user = c.get("session")!.user;
      const stored = await lab.db.selectFrom("users").select("password_hash").where("id", "=", user.id)
        .executeTakeFirstOrThrow();
      if (stored.password_hash !== null && !await authenticatePassword(lab.db, user.username, fields.current ?? "")) {
        throw new LabRequestError("the current password is not right", 403);
      }
      await setLabPassword(lab, user, user.username, fields.password ?? "");
      const session = await sessions.login(user.username, fields.password ?? "");
      if (session) c.header("Set-Cookie", sessions.cookie(session));
      return c.redirect("/tokens", 303);
    }),
  );
  app.post(
    "/web/tokens",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const issued = await issueToken(lab.db, c.get("session")!.user.username, fields.description ?? "");
      return await tokensPage(c, issued.token);
    }),
  );
  app.post(
    "/web/callback-tokens",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const made = await addOwnCallbackToken(lab, c.get("session")!.user, fields.description ?? "", fields.secret);
      return await tokensPage(c, undefined, fields.secret ? undefined : made.secret);
    }),
  );
  app.post(
    "/web/callback-tokens/delete",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await deleteOwnCallbackToken(lab, c.get("session")!.user, fields.description ?? "");
      return c.redirect("/tokens", 303);
    }),
  );
  app.post(
    "/web/tokens/:id/delete",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await deleteToken(
        lab.db,
        c.get("session")!.user.username,
        intParam(param(c, "id"), "id", { fallback: 0, max: 2 ** 31 - 1 }),
      );
      return c.redirect("/tokens", 303);
    }),
  );

  app.post(
    "/web/jobs/:id/cancel",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const user = c.get("user")!;
      const id = await resolveJobId(lab, param(c, "id"));
      await assertVisible(lab, id, user);
      if (!await mayCancel(lab, id, user)) {
        throw new LabRequestError("only its submitter or an administrator may cancel a job", 403);
      }
      await lab.cancel(id, `cancelled by ${user.username}`);
      return c.redirect(`/jobs/${param(c, "id")}`, 303);
    }),
  );

  app.post(
    "/web/jobs/:id/resubmit",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const jobs = await resubmitJob(lab, param(c, "id"), c.get("user")!);
      return c.redirect(`/jobs/${jobs[0].displayId}`, 303);
    }),
  );

  app.post(
    "/web/devices/:hostname/reserve",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const user = c.get("user")!;
      const minutes = intParam(fields.minutes, "minutes", {
        fallback: DEFAULT_RESERVATION_MINUTES,
        min: 1,
        max: MAX_RESERVATION_MINUTES,
      });
      const boot = fields.boot?.trim() ? fields.boot : undefined;
      const job = await reserve(lab, { device: param(c, "hostname"), minutes, boot }, {
        id: user.id,
        username: user.username,
        is_superuser: user.is_superuser,
      });
      return c.redirect(`/jobs/${job.displayId}`, 303);
    }),
  );

  app.post(
    "/web/devices/:hostname/health",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const user = c.get("user")!;
      let health: DeviceHealthName;
      try {
        health = DeviceHealth.name(DeviceHealth.parse(fields.health ?? "")) as DeviceHealthName;
      } catch (error) {
        throw new LabRequestError((error as Error).message, 400);
      }
      const reason = fields.reason?.trim() ? `${fields.reason.trim()} (${user.username})` : `set by ${user.username}`;
      await updateLabDevice(lab, user, param(c, "hostname"), { health, reason });
      return c.redirect(`/devices/${param(c, "hostname")}`, 303);
    }),
  );
}
