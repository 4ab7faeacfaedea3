import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { exampleFiles, testWithExamples } from "../../tests/support/lava_examples.ts";
import { formatDiagnostic, validateJob } from "./job_schema.ts";

testWithExamples("every LAVA example job validates", async (t) => {
  for (const [name, path, text] of [...exampleFiles("jobs"), ...exampleFiles("jobs-invalid")]) {
    await t.step(name, () => {
      const result = validateJob(text, { file: path });
      assertEquals(result.errors.map(formatDiagnostic), []);
    });
  }
});

testWithExamples("the example jobs LAVA's CI checks strictly are valid in strict mode too", () => {
  // ssh-deploy.yaml merges several jobs for unit tests and passes only non-strict validation.
  for (const [name, path, text] of exampleFiles("jobs").filter(([name]) => name !== "ssh-deploy.yaml")) {
    assertEquals(validateJob(text, { file: path, strict: true }).errors.map(formatDiagnostic), [], name);
  }
  const ssh = exampleFiles("jobs").find(([name]) => name === "ssh-deploy.yaml")!;
  assertEquals(validateJob(ssh[2], { strict: true }).valid, false);
});

/** What each derived invalid job must be rejected with: its header comment names the error. */
const EXPECTED: Record<string, { path: string; message: string; line: number }> = {
  "missing-visibility.yaml": { path: "visibility", message: "required key not provided", line: 2 },
  "action-timeout-exceeds-job.yaml": {
    path: "actions[1].boot.timeout",
    message: "Action timeout is larger than job timeout",
    line: 30,
  },
  "unknown-boot-method.yaml": { path: "actions[1].boot.method", message: "unknown action type", line: 27 },
  "multinode-with-device-type.yaml": {
    path: "device_type",
    message: '"device_type" should not be used with multinode',
    line: 2,
  },
  "bad-timeout-unit.yaml": { path: "timeouts.job", message: "exactly one of days, hours, minutes or seconds", line: 7 },
};

testWithExamples("every derived invalid job is rejected with the error its header names, at its line", async (t) => {
  const files = exampleFiles("jobs-invalid-derived");
  assertEquals(files.map(([name]) => name).sort(), Object.keys(EXPECTED).sort());
  for (const [name, path, text] of files) {
    await t.step(name, () => {
      const header = text.split("\n")[0];
      const expected = EXPECTED[name];
      for (const strict of [false, true]) {
        const result = validateJob(text, { file: path, strict });
        assertEquals(result.valid, false);
        assertEquals(result.errors.length, 1, result.errors.map(formatDiagnostic).join("\n"));
        const [error] = result.errors;
        assertEquals([error.path, error.line, error.file], [expected.path, expected.line, path]);
        assertStringIncludes(error.message, expected.message);
      }
      // The header's own words for the error appear in ours.
      const named =
        /Expected: .*?['"(]?(required key not provided|Action timeout is larger than job timeout|unknown action type|should not be used with multinode|timeouts\/job)/
          .exec(header);
      assert(named, `header names the error: ${header}`);
    });
  }
});

Deno.test("all the errors of a file are reported, each with its position", () => {
  const text = [
    "device_type: qemu", // 1
    "job_name: ''", // 2
    "timeouts:", // 3
    "  job: {minutes: 5}", // 4
    "  action: {hours: 1}", // 5
    "priority: 101", // 6
    "visibility: public", // 7
    "context: {arch: amd64, frobnicate: 1}", // 8
    "actions:", // 9
    "- deploy: {to: tmpfs}", // 10
    "- boot: {method: qemu, prompts: []}", // 11
    "- test: {timeout: {seconds: 0}}", // 12
  ].join("\n");
  const result = validateJob(text, { file: "bad.yaml" });
  assertEquals(result.errors.map(formatDiagnostic), [
    "bad.yaml:2:11: job_name: must not be empty",
    "bad.yaml:5:11: timeouts.action: Global timeout is larger than job timeout",
    "bad.yaml:6:11: priority: value must be at most 100",
    'bad.yaml:8:24: context.frobnicate: extra keys not allowed: "frobnicate" is not a context variable this lab knows',
    "bad.yaml:10:11: actions[0].deploy.images: required key not provided",
    "bad.yaml:11:33: actions[1].boot.prompts: must not be an empty list",
    "bad.yaml:12:9: actions[2].test: invalid action: a test needs definitions, interactive, monitors or services",
  ]);
});

Deno.test("strict mode rejects unknown keys at any depth; non-strict allows them", () => {
  const text = `device_type: qemu
job_name: j
timeouts: {job: {minutes: 5}}
visibility: public
surprise: 1
actions:
- deploy:
    to: tmpfs
    images: {rootfs: {url: 'http://x/y.img', unexpected: true}}
`;
  assertEquals(validateJob(text).valid, true);
  const strict = validateJob(text, { strict: true });
  assertEquals(strict.errors.map((e) => [e.path, e.line, e.column]), [
    ["surprise", 5, 1],
    ["actions[0].deploy.images.rootfs.unexpected", 9, 46],
  ]);
});

testWithExamples("a repeated key is a warning with its position, and the last value counts", () => {
  const [, path, text] = exampleFiles("jobs").find(([name]) => name === "kvm.yaml")!;
  const result = validateJob(text, { file: path });
  assertEquals(result.valid, true);
  assertEquals(result.warnings.map((w) => [w.line, w.path]), [[45, "actions[2].test.timeout"]]);
  const job = result.job as { actions: { test?: { timeout: unknown } }[] };
  assertEquals(job.actions[2].test?.timeout, { minutes: 10 });
});

Deno.test("MultiNode jobs need roles on every action, and only roles the job defines", () => {
  const text = `job_name: mn
timeouts: {job: {minutes: 5}}
visibility: public
protocols:
  lava-multinode:
    roles:
      server: {device_type: qemu, count: 1}
      client: {device_type: qemu, count: 2}
actions:
- deploy: {to: tmpfs, role: [server, client], images: {r: {url: 'file:///r'}}}
- boot: {method: qemu, role: [servr]}
- test: {definitions: [{from: git, repository: r, path: p, name: n}]}
`;
  const result = validateJob(text);
  assertEquals(result.errors.map((e) => [e.path, e.message]), [
    ["actions[1].boot.role[0]", 'role "servr" is not one of the job\'s roles (server, client)'],
    ["actions[2].test.role", "Every action of a multinode job should have roles"],
  ]);
});

Deno.test("text that is not YAML, or not a mapping, gives errors and never throws", () => {
  assertEquals(validateJob("job_name: [unclosed").errors[0].message.startsWith("not valid YAML"), true);
  assertEquals(validateJob("- just\n- a list").errors[0].message, "expected a mapping, got a list");
  assertEquals(validateJob("").errors[0].message, "expected a mapping, got nothing (null)");
  assertEquals(validateJob("{}").errors.map((e) => e.path).sort(), [
    "actions",
    "device_type",
    "job_name",
    "timeouts",
    "visibility",
  ]);
});

Deno.test("JSON job definitions are accepted", () => {
  const json = JSON.stringify({
    device_type: "qemu",
    job_name: "json job",
    timeouts: { job: { minutes: 5 } },
    visibility: { group: ["lab"] },
    priority: "high",
    actions: [{ boot: { method: "minimal" } }],
  });
  assertEquals(validateJob(json).errors, []);
});

Deno.test("a context value with a line break or other control character is refused with its key named", () => {
  const job = (context: string) =>
    `device_type: qemu\njob_name: x\nvisibility: public\ntimeouts: {job: {minutes: 5}}\n` +
    `actions: [{boot: {method: qemu, media: tmpfs, timeout: {minutes: 1}}}]\ncontext:\n${context}`;
  const newline = validateJob(job(`  machine: "q35\\ncommands:\\n  users: {}"\n`));
  assertEquals(newline.valid, false);
  assertStringIncludes(newline.errors.map(formatDiagnostic).join("\n"), "context.machine: the value holds the control");
  const nul = validateJob(job(`  extra_options: ["-smp", "2\\0"]\n`));
  assertStringIncludes(nul.errors.map(formatDiagnostic).join("\n"), "context.extra_options[1]");
  const long = validateJob(job(`  cpu: ${"x".repeat(5000)}\n`));
  assertStringIncludes(long.errors.map(formatDiagnostic).join("\n"), "at most 4096");
  assertEquals(validateJob(job(`  machine: "q35 # it's fine: here"\n`)).valid, true);
});

Deno.test("an action both repeated and retried is refused at its key, as LAVA refuses it when the job starts", () => {
  const text = `job_name: repeat and retry
device_type: qemu
timeouts: {job: {minutes: 5}}
visibility: public
actions:
- boot:
    method: qemu
    media: tmpfs
    repeat: 2
    failure_retry: 3
`;
  const result = validateJob(text);
  assertEquals(result.valid, false);
  assertEquals(result.errors.map((e) => [e.path, e.line]), [["actions[0].boot.failure_retry", 10]]);
  assertStringIncludes(result.errors[0].message, "repeat and failure_retry exclude each other");
});
