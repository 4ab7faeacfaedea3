import { assertEquals } from "../../tests/support/assert.ts";
import { join } from "../../actors/path.ts";
import { LabDir } from "./lab_dir.ts";

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("a watched lab directory sees health checks and dictionaries an admin adds, changes or removes", async () => {
  const root = await Deno.makeTempDir();
  const lab = new LabDir(root);
  const stop = lab.watch();
  try {
    assertEquals(lab.healthCheck("qemu"), undefined);
    assertEquals(lab.dictionaryFile("qemu01"), undefined);
    await Deno.writeTextFile(join(root, "health-checks", "qemu.yaml"), "job_name: one\n");
    await Deno.writeTextFile(join(root, "devices", "qemu01.jinja2"), "{% extends 'qemu.jinja2' %}\n");
    await eventually(() => lab.healthCheck("qemu") === "job_name: one\n", "the new health check");
    await eventually(() => lab.dictionaryFile("qemu01") !== undefined, "the new dictionary");
    await Deno.writeTextFile(join(root, "health-checks", "qemu.yaml"), "job_name: two\n");
    await eventually(() => lab.healthCheck("qemu") === "job_name: two\n", "the changed health check");
    await Deno.remove(join(root, "health-checks", "qemu.yaml"));
    await eventually(() => lab.healthCheck("qemu") === undefined, "the health check removed");
    // One set through the API is seen at once.
    lab.setHealthCheck("qemu", "job_name: three\n");
    assertEquals(lab.healthCheck("qemu"), "job_name: three\n");
  } finally {
    stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a watched lab directory replaced by a new one, or a health check that is a link, is read anew", async () => {
  const root = await Deno.makeTempDir();
  const elsewhere = await Deno.makeTempDir();
  const lab = new LabDir(root);
  const stop = lab.watch();
  try {
    await Deno.writeTextFile(join(elsewhere, "bbb.yaml"), "job_name: linked\n");
    await Deno.symlink(join(elsewhere, "bbb.yaml"), join(root, "health-checks", "bbb.yaml"));
    await eventually(() => lab.healthCheck("bbb") === "job_name: linked\n", "the linked health check");
    // Its target changes where the watch hears nothing.
    await Deno.writeTextFile(join(elsewhere, "bbb.yaml"), "job_name: relinked\n");
    assertEquals(lab.healthCheck("bbb"), "job_name: relinked\n");
    // The directory moved away and a new one put in its place: the new one is not watched.
    assertEquals(lab.healthCheck("qemu"), undefined);
    await Deno.rename(join(root, "health-checks"), join(root, "old"));
    await Deno.mkdir(join(root, "health-checks"));
    await eventually(() => {
      Deno.writeTextFileSync(join(root, "health-checks", "qemu.yaml"), "job_name: new dir\n");
      return lab.healthCheck("qemu") === "job_name: new dir\n";
    }, "the health check in the new directory");
    await Deno.writeTextFile(join(root, "health-checks", "qemu.yaml"), "job_name: changed\n");
    assertEquals(lab.healthCheck("qemu"), "job_name: changed\n");
  } finally {
    stop();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("an unwatched lab directory reads the file at every lookup", async () => {
  const root = await Deno.makeTempDir();
  try {
    const lab = new LabDir(root);
    assertEquals(lab.healthCheck("qemu"), undefined);
    await Deno.writeTextFile(join(root, "health-checks", "qemu.yml"), "job_name: yml\n");
    assertEquals(lab.healthCheck("qemu"), "job_name: yml\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
