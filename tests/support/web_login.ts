/**
 * Logging in to the web UI as a browser does: the login page (which sets the
 * login form's cookie and token), then the form. For tests that need a session
 * cookie without driving a browser.
 */
import { assertEquals } from "./assert.ts";

export interface WebSession {
  /** `basalt_session=...`, ready for a Cookie header. */
  readonly cookie: string;
  /** The session's CSRF token, as its pages carry it. */
  readonly csrf: string;
  /** The whole Set-Cookie header of the login's answer. */
  readonly setCookie: string;
}

export async function webLogin(masterUrl: string, username: string, token: string): Promise<WebSession> {
  const form = await fetch(`${masterUrl}/login`);
  const html = await form.text();
  const loginCsrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const preCookie = (form.headers.get("Set-Cookie") ?? "").split(";")[0];
  const response = await fetch(`${masterUrl}/web/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: preCookie },
    body: new URLSearchParams({ username, token, csrf: loginCsrf }),
  });
  await response.body?.cancel();
  assertEquals(response.status, 303, "login");
  const setCookie = response.headers.get("Set-Cookie") ?? "";
  const cookie = setCookie.split(";")[0];
  const tokens = await fetch(`${masterUrl}/tokens`, { headers: { Cookie: cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(await tokens.text())?.[1] ?? "";
  return { cookie, csrf, setCookie };
}
