/**
 * `deno task dispatch` running real jobs on a real QEMU device: results from
 * inline and git test definitions, auto-login, kernel panics, hanging boots, and
 * cancellation — each a separate dispatch process, as a worker starts them.
 */
import { parse as parseYaml, stringify } from "yaml";
import { dispatch, results } from "./support/qemu_dispatch.ts";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";

async function gitRepository(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-tests-repo-" });
  await Deno.writeTextFile(
    `${dir}/smoke.yaml`,
    stringify({
      metadata: { format: "Lava-Test Test Definition 1.0", name: "smoke", description: "from a git repository" },
      params: { GREETING: "hello" },
      run: {
        steps: [
          "lava-test-case kernel-version --shell uname -r",
          'lava-test-case greeting --shell test "$GREETING" = bonjour',
          "lava-test-case memory --result pass --measurement 256 --units MiB",
        ],
      },
    }),
  );
  const git = (...args: string[]) => new Deno.Command("git", { args: ["-C", dir, ...args] }).output();
  await git("init", "-q");
  await git("add", ".");
  await git("-c", "user.email=ci@basalt.invalid", "-c", "user.name=ci", "commit", "-qm", "tests");
  return dir;
}

Deno.test("an inline and a git test definition on QEMU give their suites, cases and measurements", async () => {
  const repo = await gitRepository();
  try {
    const run = await dispatch(qemuJob({
      tests: [
        inlineTest("inline-smoke", [
          "lava-test-case echo-ok --shell echo ok",
          "lava-test-case false-fails --shell false",
          "lava-test-set start numbers",
          "lava-test-case pi --result pass --measurement 3.14 --units rad",
          "lava-test-set stop",
        ]),
        { from: "git", repository: repo, path: "smoke.yaml", name: "git-smoke", parameters: { GREETING: "bonjour" } },
      ],
    }));
    assertEquals([run.code, run.result.result], [0, "pass"]);
    const cases = results(run).filter((r) => r.definition !== "lava").map((
      r,
    ) => [r.definition, r.case, r.result, r.measurement ?? null, r.units ?? null, r.set ?? null]);
    assertEquals(cases, [
      ["0_inline-smoke", "echo-ok", "pass", null, null, null],
      ["0_inline-smoke", "false-fails", "fail", null, null, null],
      ["0_inline-smoke", "pi", "pass", 3.14, "rad", "numbers"],
      ["1_git-smoke", "kernel-version", "pass", null, null, null],
      ["1_git-smoke", "greeting", "pass", null, null, null],
      ["1_git-smoke", "memory", "pass", 256, "MiB", null],
    ]);
    const lava = results(run).filter((r) => r.definition === "lava").map((r) => [r.case, r.result]);
    for (
      const expected of [["validate", "pass"], ["0_inline-smoke", "pass"], ["1_git-smoke", "pass"], ["job", "pass"]]
    ) {
      assert(lava.some(([c, r]) => c === expected[0] && r === expected[1]), `lava suite has ${expected}`);
    }
    const gitRun = results(run).find((r) => r.case === "1_git-smoke")!;
    assertEquals(typeof gitRun.revision, "string");
    const description = parseYaml(run.description ?? "") as {
      pipeline: { name: string }[];
    };
    assertEquals(description.pipeline.map((a) => a.name), [
      "deployimages",
      "boot-image-retry",
      "lava-test-retry",
      "finalize",
    ]);
    // Every line the device printed is in the log as target output.
    assert(run.records.some((r) => r.lvl === "target" && String(r.msg).includes("Linux version")));
  } finally {
    await Deno.remove(repo, { recursive: true });
  }
});

Deno.test("auto_login answers the login and password prompts", async () => {
  const run = await dispatch(qemuJob({
    initramfs: "initramfs-login",
    boot: {
      prompts: ["root@dut:~#"],
      auto_login: { login_prompt: "dut login:", username: "root", password_prompt: "Password:", password: "root" },
    },
    tests: [inlineTest("whoami", ['lava-test-case root --shell test "$(id -u)" = 0'])],
  }));
  assertEquals([run.code, run.result.result], [0, "pass"]);
  assert(results(run).some((r) => r.case === "root" && r.result === "pass"));
  assert(!run.records.some((r) => r.lvl === "input" && String(r.msg) === "root\n"), "the password is not logged");
});

Deno.test("a kernel panic during boot ends the job Incomplete with a job error, fast", async () => {
  const run = await dispatch(qemuJob({ append: "rdinit=/nonexistent", bootSeconds: 120 }));
  assertEquals(run.code, 1);
  assertEquals([run.result.result, run.result.error_type], ["fail", "Job"]);
  assertStringIncludes(String(run.result.error_msg), "kernel panic");
  assert(run.seconds < 60, `took ${run.seconds} s`);
});

Deno.test("a boot that hangs ends the job Incomplete when the boot's timeout expires", async () => {
  // The kernel hands over to a process that never prints a prompt.
  const run = await dispatch(qemuJob({ append: "rdinit=/bin/cat", bootSeconds: 20 }));
  assertEquals(run.code, 1);
  assertEquals([run.result.result, run.result.error_type], ["fail", "Job"]);
  assertStringIncludes(String(run.result.error_msg), "timed out");
  assert(run.seconds >= 20 && run.seconds < 60, `took ${run.seconds} s`);
});

Deno.test("cancelling a running job powers the device off and ends it Canceled", async () => {
  const run = await dispatch(
    qemuJob({ tests: [inlineTest("slow", ["lava-test-case started --shell true", "sleep 600"])] }),
    {
      cancelAfter: (records) =>
        records.some((r) => r.lvl === "results" && (r.msg as { case?: string }).case === "started"),
    },
  );
  assertEquals(run.code, 1);
  assertEquals(
    [run.result.result, run.result.error_type],
    ["fail", "Canceled"],
    JSON.stringify(run.records.filter((r) => r.lvl === "error" || r.lvl === "warning")),
  );
  assert(run.records.some((r) => r.msg === "Stopping QEMU"), "QEMU was stopped");
  const left = await new Deno.Command("pgrep", { args: ["-f", "--", run.outputDir] }).output();
  assertEquals(new TextDecoder().decode(left.stdout).trim(), "", "no process of the job is left");
});

Deno.test("a test shell that outlives its timeout ends the job with LAVA's timeout error", async () => {
  const run = await dispatch(qemuJob({ tests: [inlineTest("forever", ["sleep 600"])], testSeconds: 8 }));
  assertEquals(run.code, 1);
  assertEquals([run.result.result, run.result.error_type], ["fail", "LAVATimeout"]);
  assert(results(run).some((r) => r.definition === "lava" && r.case === "0_forever" && r.result === "fail"));
});
