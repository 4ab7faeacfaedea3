import { assert, assertRejects } from "../../tests/support/assert.ts";
import { hashPassword, PasswordError, verifyPassword } from "./passwords.ts";

Deno.test("a password verifies against its own hash only, and each hash is salted", async () => {
  const stored = await hashPassword("correct horse battery");
  assert(stored.startsWith("scrypt$15$8$1$"), stored);
  assert(await verifyPassword("correct horse battery", stored));
  assert(!await verifyPassword("correct horse batterY", stored));
  assert(stored !== await hashPassword("correct horse battery"));
});

Deno.test("nothing verifies against no hash, a foreign hash or a hash whose cost was edited upwards", async () => {
  assert(!await verifyPassword("anything at all", null));
  assert(!await verifyPassword("anything at all", "pbkdf2_sha256$1$x$y"));
  const stored = await hashPassword("correct horse battery");
  assert(!await verifyPassword("correct horse battery", stored.replace("scrypt$15$", "scrypt$30$")));
});

Deno.test("a password too short or too long is refused with the rule", async () => {
  await assertRejects(() => hashPassword("short"), PasswordError, "at least 10");
  await assertRejects(() => hashPassword("x".repeat(201)), PasswordError, "at most 200");
});
