import { assertRejects, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { openStorage } from "../../master/storage/database.ts";
import { DataDirInUseError, lockDataDir } from "./dir_lock.ts";

Deno.test("a data directory already open in this process is refused", async () => {
  const dir = await Deno.makeTempDir();
  const lock = lockDataDir(dir);
  try {
    assertThrows(() => lockDataDir(dir), DataDirInUseError, "already open in this process");
  } finally {
    lock.release();
  }
  lockDataDir(dir).release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a data directory held by another live process is refused, a stale lock is taken over", async () => {
  const dir = await Deno.makeTempDir();
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${dir}/basalt.lock`, `${holder.pid}\n`);
    const error = await assertRejects(() => openStorage({ kind: "pglite", dataDir: dir }), DataDirInUseError);
    assertStringIncludes(error.message, `in use by process ${holder.pid}`);
  } finally {
    holder.kill();
    await holder.status;
  }
  lockDataDir(dir).release();
  await Deno.remove(dir, { recursive: true });
});
