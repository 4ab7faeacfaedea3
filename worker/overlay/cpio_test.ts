import { assertEquals } from "../../tests/support/assert.ts";
import { appendToInitramfs, cpioArchive } from "./cpio.ts";

Deno.test("the cpio archive lists every file with its mode, as cpio itself reads it", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/lava-7/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}/lava-7/bin/lava-test-case`, "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await Deno.chmod(`${root}/lava-7/bin/lava-test-case`, 0o755);
    await Deno.writeTextFile(`${root}/lava-7/environment`, "export A=1\n");
    await Deno.symlink("bin/lava-test-case", `${root}/lava-7/link`);
    const archive = await cpioArchive(root);
    await Deno.writeFile(`${root}.cpio`, archive);
    const listing = await new Deno.Command("sh", {
      args: ["-c", `cpio -itv < ${root}.cpio 2>/dev/null`],
      stdout: "piped",
    })
      .output();
    const lines = new TextDecoder().decode(listing.stdout).trim().split("\n").map((l) => {
      const parts = l.trim().split(/\s+/);
      return `${parts[0]} ${parts.slice(8).join(" ")}`;
    });
    assertEquals(lines, [
      "drwxr-xr-x lava-7",
      "drwxr-xr-x lava-7/bin",
      "-rwxr-xr-x lava-7/bin/lava-test-case",
      "-rw-r--r-- lava-7/environment",
      "lrwxrwxrwx lava-7/link -> bin/lava-test-case",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(`${root}.cpio`).catch(() => {});
  }
});

Deno.test("an appended segment follows the original initramfs directly", async () => {
  const root = await Deno.makeTempDir();
  const initrd = `${root}.img`;
  try {
    await Deno.writeFile(initrd, new Uint8Array([1, 2, 3, 4, 5]));
    await Deno.writeTextFile(`${root}/x`, "y");
    const added = await appendToInitramfs(initrd, root);
    const bytes = await Deno.readFile(initrd);
    assertEquals([...bytes.subarray(0, 5)], [1, 2, 3, 4, 5]);
    assertEquals(bytes.length, 5 + added);
    assertEquals([...bytes.subarray(5, 7)], [0x1f, 0x8b]);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(initrd).catch(() => {});
  }
});
