/**
 * LAVA's job language beyond deploy, boot and test, on the real QEMU device, in
 * one job: images that are tar archives or zip files, a user command and its
 * undo, the job's own kernel start message, a repeated boot, and a test whose
 * timeout is skipped so the job goes on.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { dispatch, results } from "./support/qemu_dispatch.ts";

Deno.test("one QEMU job: archive and zip images, a command's undo, a repeated boot, a skipped timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-job-language-" });
  try {
    await Deno.mkdir(`${dir}/bundle/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/bundle/etc/greeting`, "hello from the archive\n");
    const tar = await new Deno.Command("tar", { args: ["-cf", `${dir}/bundle.tar`, "-C", `${dir}/bundle`, "."] })
      .output();
    assert(tar.success);
    await Deno.writeTextFile(`${dir}/firmware.zip`, "PK not decompressed\n");
    const job = qemuJob({
      name: "job language",
      // LAVA's repeat runs the block again whatever happens: two boots, each a new QEMU.
      boot: { parameters: { "kernel-start-message": "Linux version [0-9]" }, repeat: 2 },
      tests: [inlineTest("after", ["lava-test-case goes-on --result pass"])],
      testSeconds: 60,
    });
    const actions = job.actions as Record<string, Record<string, unknown>>[];
    actions.unshift({
      deploy: {
        to: "downloads",
        images: {
          bundle: { url: `file://${dir}/bundle.tar`, archive: "tar" },
          firmware: { url: `file://${dir}/firmware.zip`, compression: "zip" },
        },
      },
    });
    actions.splice(2, 0, { command: { name: "mark" } });
    actions.push(
      {
        test: {
          timeout: { seconds: 4, skip: true },
          definitions: [inlineTest("too-slow", ["sleep 10", "lava-test-case never-reached --result pass"])],
        },
      },
      {
        test: {
          timeout: { seconds: 60 },
          definitions: [inlineTest("after", ["lava-test-case goes-on --result pass"])],
        },
      },
    );
    const dictionary = `{% set user_commands = {'mark': {'do': 'touch ${dir}/did', 'undo': 'touch ${dir}/undid'}} %}`;
    const run = await dispatch(job, { dictionary });
    const messages = run.records.map((r) => typeof r.msg === "string" ? r.msg : JSON.stringify(r.msg));
    assertEquals(run.result.result, "pass", `${JSON.stringify(run.result)}\n${messages.slice(-30).join("\n")}`);

    assert(messages.some((m) => m.startsWith("Unpacked the bundle archive into ")), "the tar image was unpacked");
    // The zip is kept as it came, as LAVA keeps it.
    assert(messages.some((m) => m.includes("firmware") && m.includes("20 bytes")), messages.join("\n"));

    assertEquals([await exists(`${dir}/did`), await exists(`${dir}/undid`)], [true, true]);
    assert(messages.includes("Running cleanup for user command 'mark'"));

    const cases = results(run).map((r) => `${r.definition}.${r.case}.${r.result}`);
    assertEquals(cases.filter((c) => c === "lava.execute-qemu.pass").length, 2, cases.join("\n"));
    assert(cases.includes("0_after.goes-on.pass"), cases.join("\n"));
    assert(messages.some((m) => m.includes("skip_timeout is set for lava-test-retry")), "the timeout was skipped");
    assertStringIncludes(messages.join("\n"), "start: 4.2 auto-login-action");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job's own kernel start message is the one a boot waits for", async () => {
  const job = qemuJob({
    name: "never starts",
    boot: { parameters: { "kernel-start-message": "this kernel never prints this" } },
    bootSeconds: 8,
  });
  const run = await dispatch(job);
  assertEquals(run.result.result, "fail");
  // Without it, the device's own message ("Linux version") matches at once and the boot goes on to the shell.
  assertStringIncludes(JSON.stringify(run.result), "timed out");
  assert(!run.records.some((r) => String(r.msg).startsWith("start: 2.3 ")), "the boot never got past auto-login");
});

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a boot that panics fails as a kernel panic, unless the job ignores kernel messages", async () => {
  const panics = await dispatch(qemuJob({ name: "panics", append: "rdinit=/nonexistent", bootSeconds: 60 }));
  assertEquals([panics.result.result, panics.result.error_type], ["fail", "Job"]);
  assertStringIncludes(String(panics.result.error_msg), "kernel panic: ");
  const kernel = results(panics).find((r) => r.case === "kernel-messages") as {
    result: string;
    extra: { extra: { kind: string }[] };
  };
  assertEquals([kernel.result, kernel.extra.extra.map((m) => m.kind)], ["fail", ["panic"]]);

  const ignored = await dispatch(qemuJob({
    name: "panics on purpose",
    append: "rdinit=/nonexistent",
    boot: { ignore_kernel_messages: true },
    bootSeconds: 8,
  }));
  // The panic is not read: the boot fails only as QEMU, which panic=-1 stops, closes the console.
  assertEquals(ignored.result.result, "fail");
  assert(!String(ignored.result.error_msg).includes("kernel panic"), String(ignored.result.error_msg));
  assert(!results(ignored).some((r) => r.case === "kernel-messages"));
});
