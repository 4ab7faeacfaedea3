import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { AlreadyExistsError, InvalidValueError, NotFoundError } from "./errors.ts";
import { addUser, authenticate, generateToken, hashToken, issueToken, listTokens, listUsers } from "./users.ts";

Deno.test("tokens are 48 lower-case letters and digits and never repeat", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const token = generateToken();
    assertEquals(token.length, 48);
    assert(/^[a-z0-9]+$/.test(token));
    seen.add(token);
  }
  assertEquals(seen.size, 200);
});

testOnBothBackends("users and tokens", [
  {
    name: "a user is added once; a second add or a bad name is refused",
    async fn(fx) {
      const { db } = await fx.open();
      const admin = await addUser(db, { username: "admin", superuser: true });
      assertEquals(admin.is_superuser, true);
      await assertRejects(() => addUser(db, { username: "admin" }), AlreadyExistsError, '"admin" already exists');
      await assertRejects(() => addUser(db, { username: "no spaces" }), InvalidValueError, "not valid");
      assertEquals((await listUsers(db)).map((u) => u.username), ["admin"]);
    },
  },
  {
    name: "a token authenticates its own user only, and only its hash is stored",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "alice" });
      await addUser(db, { username: "bob" });
      const issued = await issueToken(db, "alice", "ci");
      const stored = await db.selectFrom("api_tokens").select("token_hash").executeTakeFirstOrThrow();
      assertNotEquals(stored.token_hash, issued.token);
      assertEquals(stored.token_hash, await hashToken(issued.token));
      assertEquals((await authenticate(db, "alice", issued.token))?.username, "alice");
      assertEquals(await authenticate(db, "bob", issued.token), undefined);
      assertEquals(await authenticate(db, "alice", generateToken()), undefined);
      const [info] = await listTokens(db, "alice");
      assertEquals(info.description, "ci");
      assert(info.last_used_at instanceof Date, "a use is recorded");
    },
  },
  {
    name: "a deactivated user's tokens stop working",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "carol" });
      const { token } = await issueToken(db, "carol");
      await db.updateTable("users").set({ is_active: false }).where("username", "=", "carol").execute();
      assertEquals(await authenticate(db, "carol", token), undefined);
    },
  },
  {
    name: "a token for an unknown user is refused",
    async fn(fx) {
      const { db } = await fx.open();
      const error = await assertRejects(() => issueToken(db, "nobody"), NotFoundError);
      assertStringIncludes(error.message, '"nobody" does not exist');
    },
  },
]);
