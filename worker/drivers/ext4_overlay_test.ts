import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobError } from "../job/errors.ts";
import { writeTreeIntoExt4 } from "./ext4_overlay.ts";

async function debugfs(image: string, request: string): Promise<string> {
  const out = await new Deno.Command("debugfs", { args: ["-R", request, image], stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("the overlay is written into an ext4 image owned by root with its modes and links, twice over without harm", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-ext4-" });
  try {
    await Deno.mkdir(`${dir}/tree/lava-7/bin`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/lava-7/bin/lava-test-runner`, "#!/bin/sh\necho run\n", { mode: 0o755 });
    await Deno.symlink("bin/lava-test-runner", `${dir}/tree/lava-7/runner`);
    const made = await new Deno.Command("mke2fs", { args: ["-q", "-t", "ext4", `${dir}/root.ext4`, "8M"] }).output();
    assert(made.success);
    await writeTreeIntoExt4(`${dir}/root.ext4`, `${dir}/tree`, "images.userdata");
    await writeTreeIntoExt4(`${dir}/root.ext4`, `${dir}/tree`, "images.userdata");
    const listing = await debugfs(`${dir}/root.ext4`, "ls -l /lava-7/bin");
    assert(/100755 \(1\)\s+0\s+0\s+19 .* lava-test-runner/.test(listing), listing);
    assertEquals(await debugfs(`${dir}/root.ext4`, "cat /lava-7/bin/lava-test-runner"), "#!/bin/sh\necho run\n");
    assert(
      (await debugfs(`${dir}/root.ext4`, "stat /lava-7/runner")).includes('Fast link dest: "bin/lava-test-runner"'),
    );
    const fsck = await new Deno.Command("e2fsck", { args: ["-fn", `${dir}/root.ext4`], stdout: "null", stderr: "null" })
      .output();
    assertEquals(fsck.code, 0, "the filesystem is consistent");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an image that is not ext2/3/4, or a name debugfs would misread, is the job's error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-ext4-" });
  try {
    await Deno.mkdir(`${dir}/tree`);
    await Deno.writeTextFile(`${dir}/tree/ok`, "x");
    await Deno.writeFile(`${dir}/junk.img`, new Uint8Array(1 << 20));
    await assertRejects(
      () => writeTreeIntoExt4(`${dir}/junk.img`, `${dir}/tree`, "images.system"),
      JobError,
      "images.system is not an ext2/3/4",
    );
    await Deno.writeTextFile(`${dir}/tree/a"b`, "x");
    await assertRejects(() => writeTreeIntoExt4(`${dir}/junk.img`, `${dir}/tree`, "images.system"), JobError, 'a\\"b');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
