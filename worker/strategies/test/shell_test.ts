import { assertRejects } from "../../../tests/support/assert.ts";
import { buildPipeline } from "../../../actors/definitions/pipeline.ts";
import { executor } from "../../dispatch/execute.ts";
import { Console } from "../../drivers/console.ts";
import { processConsole } from "../../drivers/transports.ts";
import { JobError } from "../../job/errors.ts";
import { STRATEGIES } from "../mod.ts";
import { TEST_ACTIONS } from "./shell.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";

Deno.test("a device that does not find the overlay's drive ends the test shell as the job's error, saying so", async () => {
  const device = {
    actions: { deploy: { methods: { tmpfs: {} } }, boot: { methods: { qemu: {} } } },
    timeouts: { actions: {}, connections: {} },
    constants: {},
  };
  const test = { timeout: { minutes: 1 }, definitions: [] };
  const job = { job_name: "t", timeouts: { job: { minutes: 2 }, action: { minutes: 1 } }, actions: [{ test }] };
  const ctx = testContext({ jobId: "12", job, device, dir: "/tmp" });
  // The device: reads the copy command, then answers as a shell would with no drive holding the overlay.
  ctx.console = new Console(processConsole(["sh", "-c", "read line; echo LAVA_OVERLAY_MISSING; sleep 5"]), ctx.log);
  ctx.overlayImage = "/tmp/overlay.ext2";
  const pipeline = buildPipeline(job, device, STRATEGIES);
  const shell = pipeline.actions[0].pipeline[0];
  try {
    await assertRejects(
      () => executor(ctx, TEST_ACTIONS).run(shell, test, new AbortController().signal),
      JobError,
      "the test overlay's drive was not found",
    );
  } finally {
    await ctx.console.close();
  }
});
