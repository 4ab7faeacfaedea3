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
