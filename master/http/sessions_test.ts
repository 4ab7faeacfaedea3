import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { addUser, issueToken, setPassword, updateUser } from "../storage/users.ts";
import { SESSION_COOKIE, Sessions } from "./sessions.ts";

const cookieOf = (sessions: Sessions, session: Parameters<Sessions["cookie"]>[0]) =>
  sessions.cookie(session).split(";")[0];

testOnBothBackends("web sessions", [
  {
    name: "a session holds only while its token and its user do",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "dora", superuser: true });
      const { token, id } = await issueToken(db, "dora");
      const sessions = new Sessions({ db });
      assertEquals(await sessions.login("dora", "wrong"), undefined);
      const session = (await sessions.login("dora", token))!;
      const cookie = cookieOf(sessions, session);
      assertEquals((await sessions.fromCookie(cookie))?.user.is_superuser, true);
      await db.updateTable("users").set({ is_superuser: false }).where("username", "=", "dora").execute();
      assertEquals((await sessions.fromCookie(cookie))?.user.is_superuser, false);
      await db.deleteFrom("api_tokens").where("id", "=", id).execute();
      assertEquals(await sessions.fromCookie(cookie), undefined);
      assertEquals(sessions.size, 0);
    },
  },
  {
    name: "a password opens a session that holds until the password changes or the user is deactivated",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "fay" });
      assertEquals(await new Sessions({ db }).login("fay", ""), undefined, "no password set: nothing opens");
      await setPassword(db, "fay", "correct horse battery");
      const sessions = new Sessions({ db });
      assertEquals(await sessions.login("fay", "correct horse batterY"), undefined);
      const first = cookieOf(sessions, (await sessions.login("fay", "correct horse battery"))!);
      assertEquals((await sessions.fromCookie(first))?.user.username, "fay");
      await setPassword(db, "fay", "another good passphrase");
      assertEquals(await sessions.fromCookie(first), undefined, "the old password's session ends");
      const second = cookieOf(sessions, (await sessions.login("fay", "another good passphrase"))!);
      await updateUser(db, "fay", { active: false });
      assertEquals(await sessions.fromCookie(second), undefined, "a deactivated user's session ends");
      assertEquals(await sessions.login("fay", "another good passphrase"), undefined);
    },
  },
  {
    name: "a login form's token is good only with its own cookie and only from this master",
    async fn(fx) {
      const { db } = await fx.open();
      const sessions = new Sessions({ db });
      const form = await sessions.loginForm();
      const cookie = form.cookie.split(";")[0];
      assert(await sessions.checkLoginForm(cookie, form.token));
      assertEquals(await sessions.checkLoginForm(cookie, undefined), false);
      const other = await sessions.loginForm();
      assertEquals(await sessions.checkLoginForm(cookie, other.token), false);
      // Another master (another key) did not sign it.
      const elsewhere = new Sessions({ db });
      assertEquals(await elsewhere.checkLoginForm(cookie, form.token), false);
    },
  },
  {
    name: "cookies are HttpOnly and SameSite=Strict, and Secure when asked",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "eve" });
      const { token } = await issueToken(db, "eve");
      const plain = new Sessions({ db });
      const secure = new Sessions({ db, secureCookies: true });
      const a = plain.cookie((await plain.login("eve", token))!);
      const b = secure.cookie((await secure.login("eve", token))!);
      assertStringIncludes(a, `${SESSION_COOKIE}=`);
      for (const part of ["HttpOnly", "SameSite=Strict"]) assertStringIncludes(a, part);
      assertEquals(a.includes("Secure"), false);
      assertStringIncludes(b, "; Secure");
      assertStringIncludes(secure.clearCookie(), "; Secure");
    },
  },
]);
