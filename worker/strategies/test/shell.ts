/**
 * The test shell: runs a test stage's tests on the device with
 * `lava-test-runner` and turns the signals they print into results, until the
 * runner exits or the action's time runs out.
 */
import { isMapping } from "../../../actors/definitions/schema.ts";
import type { ActionImplementation, ActionRun } from "../context.ts";
import { ConnectionClosedError, JobError, LAVATimeoutError, MultinodeProtocolTimeoutError } from "../../job/errors.ts";
import { MULTINODE_MARKER } from "../../drivers/multinode.ts";
import { pythonRegex } from "../../overlay/python_regex.ts";
import { type RunInfo, RUNNER_EXIT, RUNNER_INSTALL_FAIL, SIGNAL, SignalInterpreter } from "../../overlay/signals.ts";
import { type Console as DeviceConsole, ConsoleClosed, ExpectTimeout } from "../../drivers/console.ts";

const KERNEL_PANIC = /Kernel panic - not syncing/;

const lavaTestShell: ActionImplementation = async (run) => {
  const { ctx, signal } = run;
  // The stage is the test action's place among the job's test actions, so a retried or repeated test runs it again.
  const stage = ctx.testStage(run.block);
  const console = ctx.console;
  if (!console) throw new JobError("lava-test-shell: the device was not booted to a shell before the test");
  const root = ctx.deviceRoot;
  if (!ctx.overlayOnDevice) {
    if (!ctx.overlayImage) throw new JobError("lava-test-shell: no test overlay was deployed before the test");
    // The quotes keep the echo of the command itself from reading as its answer.
    await console.sendLine(
      `mkdir -p ${root} && for d in /dev/vd? /dev/sd?; do mount -o ro -t ext2 $d /mnt 2>/dev/null && [ -d /mnt${root} ] && cp -a /mnt${root}/. ${root}/ && umount /mnt && break; umount /mnt 2>/dev/null; done; [ -x ${root}/bin/lava-test-runner ] && echo LAVA_OVERLAY_"COPIED" || echo LAVA_OVERLAY_"MISSING"`,
    );
    const copied = await console.expect(
      [/LAVA_OVERLAY_COPIED/, /LAVA_OVERLAY_MISSING/],
      Math.max(1, Math.min(run.remainingMs(), 60_000)),
      signal,
    )
      .catch((error) => {
        if (error instanceof ExpectTimeout) {
          throw new LAVATimeoutError("lava-test-shell: copying the test overlay from its drive timed out");
        }
        if (error instanceof ConsoleClosed) {
          throw new ConnectionClosedError("the connection to the device closed during the tests");
        }
        throw error;
      });
    if (copied.index === 1) {
      throw new JobError(
        `lava-test-shell: the test overlay's drive was not found on the device (no /dev/vd? or /dev/sd? holds ${root} on ext2)`,
      );
    }
    ctx.overlayOnDevice = true;
  }
  const tests = ctx.overlay?.stages.get(stage) ?? [];
  const runs = new Map<string, RunInfo>(
    tests.filter(Boolean).map((t) => [t.runId, {
      runId: t.runId,
      repository: t.repository,
      path: t.path,
      revision: t.revision,
      expected: [
        ...t.expected,
        ...((run.block.definitions as unknown[] | undefined)?.flatMap((d) =>
          isMapping(d) && d.name === t.name && Array.isArray(d.expected) ? d.expected.map(String) : []
        ) ?? []),
      ],
    }]),
  );
  const patterns = new Map(tests.filter((t) => t?.parse).map((t) => [t.runId, t.parse!]));
  const interpreter = new SignalInterpreter(
    ctx.log,
    runs,
    typeof run.block.namespace === "string" ? run.block.namespace : undefined,
  );
  await console.sendLine(`${root}/bin/lava-test-runner ${root}/${stage}`, { delayMs: ctx.characterDelay("test") });
  const signalPattern = new RegExp(SIGNAL.source);
  try {
    while (true) {
      const match = await console.expect(
        [signalPattern, RUNNER_EXIT, RUNNER_INSTALL_FAIL, KERNEL_PANIC, MULTINODE_MARKER],
        Math.max(1, run.remainingMs()),
        signal,
      );
      if (match.index === 4) {
        await multinodeCall(run, console, interpreter, match.match[1], match.match[2]);
        continue;
      }
      const line = ctx.log.nextLine - 1;
      const parse = interpreter.currentRun ? patterns.get(interpreter.currentRun) : undefined;
      if (parse) applyParsePattern(parse, match.before, interpreter, line);
      if (match.index === 0) interpreter.handle(match.match[1], match.match[2], line);
      else if (match.index === 1) break;
      else if (match.index === 2) {
        ctx.log.results({
          definition: "lava",
          case: `stage_${stage}`,
          result: "fail",
          error_msg: "a test's install.sh failed",
        });
      } else throw new JobError(`kernel panic during the tests: ${match.match[0]}`);
    }
  } catch (error) {
    interpreter.closeOpenRun();
    if (error instanceof ConsoleClosed) {
      throw new ConnectionClosedError("the connection to the device closed during the tests");
    }
    if (error instanceof ExpectTimeout) {
      throw new LAVATimeoutError(`lava-test-shell timed out after ${run.action.timeout} seconds`);
    }
    throw error;
  }
  interpreter.closeOpenRun();
  if (ctx.prompts.length > 0) {
    await console.expect(ctx.prompts, Math.max(1, Math.min(run.remainingMs(), 10_000)), signal).catch(() => {});
  }
};

/** Relays a device's MultiNode call to the coordinator and answers the device, as LAVA's dispatcher does. */
async function multinodeCall(
  run: ActionRun,
  console: DeviceConsole,
  interpreter: SignalInterpreter,
  api: string,
  params: string,
): Promise<void> {
  const { ctx, signal } = run;
  if (!ctx.multinode) throw new JobError(`the device made a MultiNode call (${api}) in a job that is not MultiNode`);
  const definition = interpreter.currentRun ?? "lava";
  try {
    const { reply, testCase } = await ctx.multinode.handleMarker(api, params, signal);
    // The extra empty line is LAVA's, which the device side's read loops expect.
    if (reply) await console.sendLine(`${reply}\n`);
    ctx.log.results({ definition, case: testCase, result: "pass" });
  } catch (error) {
    if (error instanceof MultinodeProtocolTimeoutError) {
      ctx.log.results({ definition, case: `multinode-${api}-${params.split(/\s+/)[0]}`.toLowerCase(), result: "fail" });
    }
    throw error;
  }
}

function applyParsePattern(
  parse: { pattern: string; fixupdict: Record<string, string> },
  text: string,
  interpreter: SignalInterpreter,
  line: number,
): void {
  const pattern = pythonRegex(parse.pattern);
  for (const raw of text.split(/\r?\n/)) {
    const groups = pattern.exec(raw)?.groups;
    if (!groups?.test_case_id || !groups.result) continue;
    const id = groups.test_case_id.trim();
    if (/\s/.test(id)) continue;
    const result = parse.fixupdict[groups.result] ?? groups.result.toLowerCase();
    interpreter.parsed(id, result, line, groups.measurement, groups.units);
  }
}

export const TEST_ACTIONS: Record<string, ActionImplementation> = {
  "lava-test-shell": lavaTestShell,
};
