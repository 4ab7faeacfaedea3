import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobError } from "../job/errors.ts";
import { unpackRootfs, unpackTar } from "./archive.ts";

async function tarOf(dir: string, files: Record<string, string>, extra: string[] = []): Promise<string> {
  const source = `${dir}/source`;
  for (const [name, content] of Object.entries(files)) {
    await Deno.mkdir(`${source}/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${source}/${name}`, content);
  }
  const archive = `${dir}/archive-${crypto.randomUUID()}.tar`;
  const made = await new Deno.Command("tar", { args: ["-cf", archive, "-C", source, ...extra, "."] }).output();
  assertEquals(made.success, true);
  return archive;
}

Deno.test("a tar archive unpacks into its own directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const archive = await tarOf(dir, { "rootfs/etc/hostname": "dut\n", "README": "x" });
    await unpackTar(archive, `${dir}/out`, 1 << 20, "images.rootfs");
    assertEquals(await Deno.readTextFile(`${dir}/out/rootfs/etc/hostname`), "dut\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an archive reaching outside its directory, or too large, is refused before anything is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const climbing = `${dir}/climb.tar`;
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a/evil`, "x");
    // A member named ../evil, as a hostile archive would have it (-P keeps the name as given).
    const made = await new Deno.Command("tar", {
      args: ["-cPf", climbing, "-C", `${dir}/a`, "--transform", "s,^,../,", "evil"],
    }).output();
    assertEquals(made.success, true);
    await assertRejects(() => unpackTar(climbing, `${dir}/out1`, 1 << 20, "images.rootfs"), JobError, "outside");

    await Deno.symlink("/etc", `${dir}/a/b/etc`);
    const linking = `${dir}/link.tar`;
    await new Deno.Command("tar", { args: ["-cf", linking, "-C", `${dir}/a/b`, "etc"] }).output();
    await assertRejects(() => unpackTar(linking, `${dir}/out2`, 1 << 20, "images.rootfs"), JobError, "links outside");

    const big = await tarOf(dir, { "big": "y".repeat(4096) });
    await assertRejects(() => unpackTar(big, `${dir}/out3`, 1000, "images.rootfs"), JobError, "more than");
    for (const out of ["out1", "out2", "out3"]) {
      assertEquals(await Deno.stat(`${dir}/${out}`).then(() => true, () => false), false);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a root filesystem unpacks with its owners, modes and absolute links, and nothing is written through a link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = `${dir}/source`;
    await Deno.mkdir(`${source}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${source}/usr/bin/su`, "#!/bin/sh\n");
    await Deno.chown(`${source}/usr/bin/su`, 0, 0);
    await Deno.chmod(`${source}/usr/bin/su`, 0o4755); // after chown, which clears set-user-id
    await Deno.writeTextFile(`${source}/owned`, "x");
    await Deno.chown(`${source}/owned`, 1234, 1234);
    await Deno.symlink("/usr/bin/su", `${source}/su`);
    // The hostile part: a link to a directory of the worker, then a member written through it.
    const outside = `${dir}/outside`;
    await Deno.mkdir(outside);
    await Deno.symlink(outside, `${source}/escape`);
    const archive = `${dir}/rootfs.tar`;
    const first = await new Deno.Command("tar", { args: ["-cf", archive, "-C", source, "."] }).output();
    assertEquals(first.success, true);
    await Deno.mkdir(`${dir}/second/escape`, { recursive: true });
    await Deno.writeTextFile(`${dir}/second/escape/pwned`, "x");
    const appended = await new Deno.Command("tar", { args: ["-rf", archive, "-C", `${dir}/second`, "escape/pwned"] })
      .output();
    assertEquals(appended.success, true);

    await unpackRootfs(archive, `${dir}/out`, 1 << 20, "nfsrootfs").catch(() => {});
    assertEquals([...Deno.readDirSync(outside)].length, 0);

    const clean = `${dir}/clean.tar`;
    await Deno.remove(`${source}/escape`);
    assertEquals((await new Deno.Command("tar", { args: ["-cf", clean, "-C", source, "."] }).output()).success, true);
    await unpackRootfs(clean, `${dir}/root`, 1 << 20, "nfsrootfs");
    assertEquals((await Deno.stat(`${dir}/root/usr/bin/su`)).mode! & 0o7777, 0o4755);
    assertEquals((await Deno.stat(`${dir}/root/owned`)).uid, 1234);
    assertEquals(await Deno.readLink(`${dir}/root/su`), "/usr/bin/su");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
