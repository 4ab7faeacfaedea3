import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { JobError } from "../job/errors.ts";
import { mergeTree } from "./tree_merge.ts";

Deno.test("a tree merges into a root filesystem beside what is there, replacing files in its way", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/tree/lava-7/bin`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/lava-7/bin/lava-test-runner`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/tree/lava-7/bin/lava-test-runner`, 0o755);
    await Deno.mkdir(`${dir}/root/etc`, { recursive: true });
    await Deno.mkdir(`${dir}/root/lava-7/bin`, { recursive: true });
    await Deno.symlink("/etc/passwd", `${dir}/root/lava-7/bin/lava-test-runner`);
    const bytes = await mergeTree(`${dir}/tree`, `${dir}/root`, "nfsrootfs");
    assertEquals(bytes, 10);
    assertEquals(await Deno.readTextFile(`${dir}/root/lava-7/bin/lava-test-runner`), "#!/bin/sh\n");
    assertEquals((await Deno.lstat(`${dir}/root/lava-7/bin/lava-test-runner`)).isSymlink, false);
    assertEquals((await Deno.stat(`${dir}/root/lava-7/bin/lava-test-runner`)).mode! & 0o777, 0o755);
    assertEquals((await Deno.stat(`${dir}/root/etc`)).isDirectory, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a link in a root filesystem where a directory of the tree goes is refused, and nothing is written through it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/tree/lava-7`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/lava-7/run`, "x");
    await Deno.mkdir(`${dir}/worker-etc`);
    await Deno.mkdir(`${dir}/root`);
    await Deno.symlink(`${dir}/worker-etc`, `${dir}/root/lava-7`);
    await assertRejects(
      () => mergeTree(`${dir}/tree`, `${dir}/root`, "nfsrootfs"),
      JobError,
      "nfsrootfs: /lava-7 is a link",
    );
    assertEquals([...Deno.readDirSync(`${dir}/worker-etc`)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
