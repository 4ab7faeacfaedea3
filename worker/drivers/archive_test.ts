import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobError } from "../job/errors.ts";
import { unpackTar } from "./archive.ts";

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
