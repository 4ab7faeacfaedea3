import { assertEquals, assertRejects, assertThrows } from "../../tests/support/assert.ts";
import { JobError } from "./errors.ts";
import { confinedLocalPath, fileNameInside, realPathInside, resolveInside, writeInside } from "./paths.ts";

Deno.test("a relative name resolves inside its directory and one that climbs out is the job's error", () => {
  assertEquals(resolveInside("/w/downloads", "kernel/bzImage", "t"), "/w/downloads/kernel/bzImage");
  assertEquals(resolveInside("/w/overlay", "/lava-42", "t", { rooted: true }), "/w/overlay/lava-42");
  for (const name of ["../etc/cron.d/x", "a/../../b", "/etc/passwd", "x\0y", "line\nbreak"]) {
    const error = assertThrows(() => resolveInside("/w", name, "deploy images.kernel.url"), JobError);
    assertEquals(error.message.startsWith("deploy images.kernel.url: "), true, error.message);
  }
  assertThrows(() => resolveInside("/w/overlay", "/../../etc", "t", { rooted: true }), JobError);
});

Deno.test("a file name is one plain name, never a path", () => {
  assertEquals(fileNameInside("/w", "vmlinuz", "t"), "/w/vmlinuz");
  for (const name of ["", ".", "..", "k/../../etc/x", "a/b"]) {
    assertThrows(() => fileNameInside("/w", name, "t"), JobError);
  }
});

Deno.test("reads and writes do not go through a symlink that leads out of the directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/repo/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/victim`, "untouched");
    await Deno.symlink(`${dir}/victim`, `${dir}/repo/link`);
    await Deno.symlink(dir, `${dir}/repo/up`);
    await Deno.symlink("sub", `${dir}/repo/inner`);
    await assertRejects(() => realPathInside(`${dir}/repo`, "link", "t path"), JobError);
    await assertRejects(() => realPathInside(`${dir}/repo`, "up/victim", "t path"), JobError);
    assertEquals(await realPathInside(`${dir}/repo`, "inner/new", "t"), `${await Deno.realPath(dir)}/repo/sub/new`);
    // Writing over a symlink replaces the link; writing below one that leads out is refused.
    await writeInside(`${dir}/repo`, "link", "generated", "t");
    assertEquals(await Deno.readTextFile(`${dir}/victim`), "untouched");
    assertEquals((await Deno.lstat(`${dir}/repo/link`)).isFile, true);
    await assertRejects(() => writeInside(`${dir}/repo`, "up/victim", "x", "t"), JobError);
    assertEquals(await Deno.readTextFile(`${dir}/victim`), "untouched");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a local path is allowed only inside the configured directories, after following symlinks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/images`);
    await Deno.writeTextFile(`${dir}/images/a`, "a");
    await Deno.writeTextFile(`${dir}/key`, "k");
    await Deno.symlink(`${dir}/key`, `${dir}/images/key`);
    const real = await Deno.realPath(dir);
    assertEquals(await confinedLocalPath(`${dir}/images/a`, [`${dir}/images`], "t"), `${real}/images/a`);
    await assertRejects(() => confinedLocalPath(`${dir}/images/key`, [`${dir}/images`], "t"), JobError);
    await assertRejects(() => confinedLocalPath(`${dir}/key`, [`${dir}/images`], "t"), JobError);
    await assertRejects(() => confinedLocalPath("relative/a", [`${dir}/images`], "t"), JobError);
    await assertRejects(() => confinedLocalPath(`${dir}/images/a`, [], "t"), JobError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
