import { assertEquals, assertNotEquals, assertRejects } from "../../tests/support/assert.ts";
import { SecretBox, SecretBoxError } from "./secret_box.ts";

Deno.test("a sealed secret opens again with the same key file and only for its own context", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const box = await SecretBox.open(`${dir}/secrets.key`);
    assertEquals((await Deno.stat(`${dir}/secrets.key`)).mode! & 0o777, 0o600);
    const sealed = await box.seal("s3cret", "user 7");
    assertNotEquals(sealed, await box.seal("s3cret", "user 7"));
    const again = await SecretBox.open(`${dir}/secrets.key`);
    assertEquals(await again.unseal(sealed, "user 7"), "s3cret");
    await assertRejects(() => again.unseal(sealed, "user 8"), SecretBoxError);
    const other = await SecretBox.open(`${dir}/other.key`);
    await assertRejects(() => other.unseal(sealed, "user 7"), SecretBoxError, "does not open");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key file others may read, or one that is not a key, is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/open.key`, "x", { mode: 0o644 });
    await Deno.chmod(`${dir}/open.key`, 0o644);
    await assertRejects(() => SecretBox.open(`${dir}/open.key`), SecretBoxError, "read by others");
    await Deno.writeTextFile(`${dir}/short.key`, "c2hvcnQ=\n", { mode: 0o600 });
    await assertRejects(() => SecretBox.open(`${dir}/short.key`), SecretBoxError, "not a secrets key");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
