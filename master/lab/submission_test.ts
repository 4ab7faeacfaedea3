import { assertThrows } from "../../tests/support/assert.ts";
import { lavaReference } from "../../tests/support/lava_examples.ts";
import { Catalog } from "./catalog.ts";
import { planSubmission, SubmissionError } from "./submission.ts";
import { NOTIFY_LIMITS } from "./webhooks.ts";
import { MAX_JOB_FILE_CHARS } from "../../actors/lab/protocol.ts";
import { stringify } from "yaml";

Deno.test("an LXC job, valid as in LAVA 2023.01, is refused at submission naming each use and the way out", () => {
  const text = Deno.readTextFileSync(
    lavaReference("usr/share/doc/lava-server-doc/html/v2/examples/test-jobs/lxc-debian.yaml"),
  );
  const error = assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "actions[0].deploy.to");
  for (const part of ["protocols.lava-lxc", "actions[1].boot.method", "LXC is no longer supported", "docker"]) {
    if (!error.message.includes(part)) throw new Error(`the refusal lacks ${part}: ${error.message}`);
  }
});

Deno.test("a job with more notification callbacks than the bound is refused at submission", () => {
  const callbacks = Array.from({ length: NOTIFY_LIMITS.callbacks + 1 }, (_, i) => ({ url: `http://example.com/${i}` }));
  const text = stringify({
    job_name: "chatty",
    device_type: "qemu",
    visibility: "public",
    priority: "medium",
    timeouts: { job: { minutes: 5 } },
    notify: { criteria: { status: "finished" }, callbacks },
    actions: [{ boot: { method: "qemu", media: "tmpfs", prompts: ["# "] } }],
  });
  assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "notify.callbacks");
});

Deno.test("a definition larger than a worker takes is refused at submission", () => {
  const text = `job_name: big\n# ${"x".repeat(MAX_JOB_FILE_CHARS)}\n`;
  assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "characters; at most");
});
