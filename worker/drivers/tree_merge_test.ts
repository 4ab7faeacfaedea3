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
      "nfsrootfs: /lava-7 is a link to",
    );
    assertEquals([...Deno.readDirSync(`${dir}/worker-etc`)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("links in a root filesystem are followed as the device follows them: from its own root, never out of it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A merged-/usr root (Debian's): /lib -> usr/lib; modules go where the device's modprobe looks.
    await Deno.mkdir(`${dir}/tree/lib/modules/6.1`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/lib/modules/6.1/nfs.ko`, "ko");
    await Deno.mkdir(`${dir}/tree/opt`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/opt/x`, "x");
    await Deno.mkdir(`${dir}/root/usr/lib`, { recursive: true });
    await Deno.mkdir(`${dir}/root/srv/opt`, { recursive: true });
    await Deno.symlink("usr/lib", `${dir}/root/lib`);
    // Absolute and climbing links stay inside the root: /opt -> /../../srv/opt is the root's /srv/opt.
    await Deno.symlink("/../../srv/opt", `${dir}/root/opt`);
    assertEquals(await mergeTree(`${dir}/tree`, `${dir}/root`, "nfsrootfs"), 3);
    assertEquals(await Deno.readTextFile(`${dir}/root/usr/lib/modules/6.1/nfs.ko`), "ko");
    assertEquals(await Deno.readTextFile(`${dir}/root/srv/opt/x`), "x");
    assertEquals((await Deno.lstat(`${dir}/root/lib`)).isSymlink, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a loop of links in a root filesystem is refused, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/tree/a`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/a/x`, "x");
    await Deno.mkdir(`${dir}/root`);
    await Deno.symlink("b", `${dir}/root/a`);
    await Deno.symlink("/a", `${dir}/root/b`);
    await assertRejects(() => mergeTree(`${dir}/tree`, `${dir}/root`, "nfsrootfs"), JobError, "too many links");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
