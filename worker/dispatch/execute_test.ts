import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import type { PipelineAction } from "../../actors/definitions/pipeline.ts";
import { JobLog, type LogRecord } from "../job/log.ts";
import { InfrastructureError, JobCanceled, JobError, LAVATimeoutError } from "../job/errors.ts";
import { deviceResources } from "../resources/device.ts";
import { type ActionImplementation, JobContext } from "../strategies/context.ts";
import { ActionTimedOut, executor, isTimeout } from "./execute.ts";

function action(name: string, more: Partial<PipelineAction> = {}): PipelineAction {
  return {
    name,
    level: "1",
    description: name,
    summary: name,
    section: "boot",
    timeout: 5,
    connectionTimeout: 5,
    maxRetries: 1,
    supported: true,
    pipeline: [],
    ...more,
  };
}

function context(): { ctx: JobContext; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = new JobLog([(r) => records.push(r)]);
  const ctx = new JobContext({
    jobId: "3",
    job: {},
    device: {},
    resources: deviceResources({}),
    dispatcher: {},
    envDut: {},
    outputDir: "/nonexistent",
    workDir: "/nonexistent",
    fileDirs: [],
    log,
  });
  return { ctx, records };
}

const messages = (records: LogRecord[], lvl = "info") => records.filter((r) => r.lvl === lvl).map((r) => r.msg);
const never = new AbortController().signal;

Deno.test("an action runs its children in order, each logged as LAVA logs start and end", async () => {
  const { ctx, records } = context();
  const ran: string[] = [];
  const leaf = (name: string): ActionImplementation => () => Promise.resolve(void ran.push(name));
  const tree = action("parent", {
    pipeline: [action("first", { level: "1.1" }), action("second", { level: "1.2" })],
  });
  await executor(ctx, { first: leaf("first"), second: leaf("second") }).run(tree, {}, never);
  assertEquals(ran, ["first", "second"]);
  const lines = messages(records).map(String);
  assertEquals(lines[0], "start: 1 parent (timeout 00:00:05)");
  assertEquals(lines[1], "start: 1.1 first (timeout 00:00:05)");
  assert(lines.at(-1)!.startsWith("end: 1 parent (duration "), lines.join("\n"));
});

Deno.test("a failing action is retried up to its retries, waiting the block's interval, and the last failure stands", async () => {
  const { ctx, records } = context();
  let attempts = 0;
  const flaky: ActionImplementation = () => {
    attempts++;
    return Promise.reject(new InfrastructureError(`attempt ${attempts} failed`));
  };
  const failure = await assertRejects(
    () => executor(ctx, { flaky }).run(action("flaky", { maxRetries: 3 }), { failure_retry_interval: 0.01 }, never),
    InfrastructureError,
  );
  assertEquals([attempts, failure.message], [3, "attempt 3 failed"]);
  assert(messages(records, "warning").includes("flaky failed: 1 of 3 attempts. Retrying."));
  assert(messages(records, "error").includes("flaky failed after 3 attempts"));

  let second = 0;
  const secondTime: ActionImplementation = () =>
    ++second === 2 ? Promise.resolve() : Promise.reject(new JobError("no"));
  await executor(ctx, { secondTime }).run(
    action("secondTime", { maxRetries: 3 }),
    { failure_retry_interval: 0.01 },
    never,
  );
  assertEquals(second, 2);
});

Deno.test("a repeated action runs every time whatever happens, and fails at the end if one run failed", async () => {
  const { ctx } = context();
  let runs = 0;
  const once: ActionImplementation = () =>
    ++runs === 2 ? Promise.reject(new JobError("run 2 failed")) : Promise.resolve();
  await assertRejects(
    () => executor(ctx, { once }).run(action("once", { maxRetries: 3, repeat: true }), {}, never),
    JobError,
    "run 2 failed",
  );
  assertEquals(runs, 3);
  let fine = 0;
  const ok: ActionImplementation = () => Promise.resolve(void fine++);
  await executor(ctx, { ok }).run(action("ok", { maxRetries: 2, repeat: true }), {}, never);
  assertEquals(fine, 2);
});

Deno.test("an action past its timeout fails as a timeout even if it ignores the abort; the test shell's as LAVA's", async () => {
  const { ctx } = context();
  const stuck: ActionImplementation = () => new Promise(() => {});
  const boot = await assertRejects(
    () => executor(ctx, { stuck }).run(action("stuck", { timeout: 0.05 }), {}, never),
    ActionTimedOut,
  );
  assert(isTimeout(boot));
  assertEquals(boot.errorType, "Job");
  const shell = await assertRejects(
    () => executor(ctx, { "lava-test-shell": stuck }).run(action("lava-test-shell", { timeout: 0.05 }), {}, never),
    LAVATimeoutError,
  );
  assertEquals(shell.message, "lava-test-shell timed out after 0.05 seconds");
});

Deno.test("a bootloader, power or download action past its timeout is the lab's failure, as LAVA's timeout_exception", async () => {
  const { ctx } = context();
  const stuck: ActionImplementation = () => new Promise(() => {});
  for (const name of ["bootloader-interrupt", "bootloader-commands", "pdu-reboot", "http-download"]) {
    const failure = await assertRejects(
      () => executor(ctx, { [name]: stuck }).run(action(name, { timeout: 0.05 }), {}, never),
      InfrastructureError,
    );
    assertEquals(failure.errorType, "Infrastructure", name);
    assert(failure.message.startsWith(`${name} timed out after`), failure.message);
    // The lab's failures are not passed over by a block's `timeout: {skip: true}`.
    assert(!isTimeout(failure), name);
  }
});

Deno.test("a cancelled job stops the running action at once and is not retried", async () => {
  const { ctx } = context();
  const controller = new AbortController();
  let attempts = 0;
  const waits: ActionImplementation = () => {
    attempts++;
    setTimeout(() => controller.abort(new JobCanceled("the job was cancelled")), 10);
    return new Promise(() => {});
  };
  await assertRejects(
    () => executor(ctx, { waits }).run(action("waits", { maxRetries: 3 }), {}, controller.signal),
    JobCanceled,
  );
  assertEquals(attempts, 1);
});

Deno.test("the actions LAVA reports are results of the lava suite, with their error when they fail", async () => {
  const { ctx, records } = context();
  const fails: ActionImplementation = () => Promise.reject(new InfrastructureError("no power"));
  await executor(ctx, { "pdu-reboot": () => Promise.resolve() }).run(action("pdu-reboot", { level: "2.1" }), {}, never);
  await assertRejects(() => executor(ctx, { "execute-qemu": fails }).run(action("execute-qemu"), {}, never));
  await executor(ctx, {}).run(action("not-reported"), {}, never);
  const results = records.filter((r) => r.lvl === "results").map((r) => r.msg as Record<string, unknown>);
  assertEquals(results.map((r) => [r.case, r.level, r.result, r.error_type ?? null]), [
    ["pdu-reboot", "2.1", "pass", null],
    ["execute-qemu", "1", "fail", "Infrastructure"],
  ]);
});
