/**
 * `deno task cli` as users run it: job validation and dictionary rendering,
 * from the command line, with exit codes scripts can rely on.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { parse } from "yaml";
import { LAVA_EXAMPLES, testWithExamples } from "./support/lava_examples.ts";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "cli", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

testWithExamples(
  "jobs validate prints FILE:LINE:COL: PATH: MESSAGE per error and exits 1 when any file is invalid",
  async () => {
    const good = `${LAVA_EXAMPLES}jobs/qemu-simple.yaml`;
    const bad = `${LAVA_EXAMPLES}jobs-invalid-derived/unknown-boot-method.yaml`;
    const both = await cli("jobs", "validate", good, bad);
    assertEquals(both.code, 1);
    assertMatch(both.stdout, /^.*unknown-boot-method\.yaml:27:13: actions\[1\]\.boot\.method: unknown action type: /);
    assertEquals(both.stdout.split("\n").length, 1);
    assertStringIncludes(both.stderr, "qemu-simple.yaml: valid");
    const fine = await cli("jobs", "validate", "--strict", good);
    assertEquals([fine.code, fine.stdout], [0, ""]);
    const kvm = await cli("jobs", "validate", `${LAVA_EXAMPLES}jobs/kvm.yaml`);
    assertEquals(kvm.code, 0);
    assertStringIncludes(kvm.stderr, 'kvm.yaml:45:9: actions[2].test.timeout: warning: duplicate key "timeout"');
  },
);

Deno.test("jobs validate names a file it cannot read and exits 1; no file at all is a usage error", async () => {
  const missing = await cli("jobs", "validate", "/no/such/job.yaml");
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "/no/such/job.yaml: cannot read");
  assertEquals((await cli("jobs", "validate")).code, 2);
});

testWithExamples("devices render uses a LAVA dispatcher-config layout and job context values", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-lava-config-" });
  try {
    // /etc/lava-server/dispatcher-config has devices/ and device-types/.
    await Deno.mkdir(`${dir}/devices`);
    await Deno.symlink(`${LAVA_EXAMPLES}device-types`, `${dir}/device-types`);
    await Deno.copyFile(`${LAVA_EXAMPLES}device-dicts/qemu01.jinja2`, `${dir}/devices/qemu01.jinja2`);
    const rendered = await cli(
      "devices",
      "render",
      `${dir}/devices/qemu01.jinja2`,
      "--templates",
      dir,
      "--context",
      "arch=arm64",
      "--context",
      "no_kvm=true",
    );
    assertEquals(rendered.code, 0, rendered.stderr);
    assertStringIncludes(rendered.stdout, "hostname: 'qemu01'");
    assertStringIncludes(rendered.stdout, "qemu-system-aarch64");
    assertStringIncludes(rendered.stdout, "- -cpu cortex-a57");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("devices render with Basalt's own templates, and a broken dictionary is refused with its line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-dicts-" });
  try {
    await Deno.writeTextFile(`${dir}/vm1.jinja2`, "{% extends 'qemu.jinja2' %}\n{% set memory = 2048 %}\n");
    const ours = await cli("devices", "render", `${dir}/vm1.jinja2`);
    assertEquals(ours.code, 0, ours.stderr);
    assertStringIncludes(ours.stdout, "- -m 2048");
    await Deno.writeTextFile(`${dir}/bad.jinja2`, "{% extends 'qemu.jinja2' %}\n{% if x %}{% endif %}\n");
    const bad = await cli("devices", "render", `${dir}/bad.jinja2`);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "bad.jinja2:2:1: {% if %} is not allowed in a device dictionary");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testWithExamples("jobs describe prints the pipeline in LAVA's describe() shape without running it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-describe-" });
  try {
    await Deno.writeTextFile(`${dir}/vm1.jinja2`, "{% extends 'qemu.jinja2' %}\n");
    const rendered = await cli("devices", "render", `${dir}/vm1.jinja2`);
    assertEquals(rendered.code, 0, rendered.stderr);
    await Deno.writeTextFile(`${dir}/vm1.yaml`, rendered.stdout);
    const job = `${LAVA_EXAMPLES}jobs/qemu-simple.yaml`;
    const described = await cli("jobs", "describe", "--device", `${dir}/vm1.yaml`, "--job-id", "7", job);
    assertEquals(described.code, 0, described.stderr);
    const description = parse(described.stdout) as {
      job: { id: string };
      pipeline: { class: string; name: string; level: string; pipeline?: unknown[] }[];
    };
    assertEquals(description.job.id, "7");
    assertEquals(
      description.pipeline.map((a) => [a.class, a.name, a.level]),
      [
        ["DeployImagesAction", "deployimages", "1"],
        ["BootQEMUImageAction", "boot-image-retry", "2"],
        ["TestShellRetry", "lava-test-retry", "3"],
        ["FinalizeAction", "finalize", "4"],
      ],
    );
    assertStringIncludes(described.stdout, "class: CallQemuAction");
    await Deno.writeTextFile(`${dir}/broken.yaml`, "hostname: [\n");
    const broken = await cli("jobs", "describe", "--device", `${dir}/broken.yaml`, job);
    assertEquals(broken.code, 1);
    assertStringIncludes(broken.stderr, "broken.yaml:");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
