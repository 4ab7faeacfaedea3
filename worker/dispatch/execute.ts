/**
 * Runs a pipeline's actions: each with its timeout (the job's own timeout
 * bounding all), retried as many times as it may (failure_retry), logged as LAVA
 * logs them ("start: 2.1 boot-qemu-image (timeout 00:01:00)" ... "end: ..."), with
 * results for the `lava` suite.
 */
import type { PipelineAction } from "../../actors/definitions/pipeline.ts";
import { formatDuration, timerMs } from "../../actors/definitions/timeouts.ts";
import type { ActionImplementation, Block, JobContext } from "../strategies/context.ts";
import { ExpectTimeout } from "../drivers/console.ts";
import { callActionProtocols } from "./action_protocols.ts";
import {
  asJobFailure,
  InfrastructureError,
  JobCanceled,
  JobError,
  JobFailure,
  LAVATimeoutError,
} from "../job/errors.ts";

/** Actions whose outcome is a case of the `lava` results suite, as in LAVA. */
const REPORTED = new Set([
  "http-download",
  "file-download",
  "execute-qemu",
  "login-action",
  "bootloader-commands",
  "pdu-reboot",
  "user-command",
]);

/** An action that LAVA counts the lab's ran out of time (INFRASTRUCTURE_TIMEOUTS). */
export class InfrastructureTimeout extends InfrastructureError {
  override name = "InfrastructureError";
}

/** Raised by an action's timer: the action's own timeout expired. */
export class ActionTimeout extends Error {
  constructor(readonly action: PipelineAction) {
    super(`${action.name} timed out after ${formatDuration(action.timeout)}`);
    this.name = "ActionTimeout";
  }
}

/**
 * Actions whose running out of time is the lab's failure, not the job's: LAVA
 * 2023.01 gives them `timeout_exception = InfrastructureError` (a bootloader that
 * never prompts, a power switch that hangs, a download server that stalls).
 */
const INFRASTRUCTURE_TIMEOUTS = new Set([
  "apply-lxc-overlay",
  "apply-overlay-guest",
  "apply-overlay-image",
  "apply-overlay-sparse-image",
  "apply-overlay-tftp",
  "bootloader-commands",
  "bootloader-commands-altbank",
  "bootloader-interrupt",
  "compress-ramdisk",
  "configure-preseed-file",
  "connect-device",
  "connect-shell",
  "depthcharge-start",
  "disconnect-device",
  "download-action",
  "enter-fastboot-action",
  "extract-modules",
  "extract-nfsrootfs",
  "extract-overlay-ramdisk",
  "extract-rootfs",
  "fastboot-flash-action",
  "file-download",
  "http-download",
  "menu-connect",
  "menu-reset",
  "pdu-reboot",
  "power-off",
  "power-on",
  "pre-os-command",
  "pre-power-command",
  "prepare-tftp-overlay",
  "scp-deploy",
  "scp-download",
  "ssh-connection",
  "uefi-menu-interrupt",
  "uefi-shell-menu-interrupt",
  "user-command",
  "wait-device-boardid",
  "wait-device-path",
  "wait-dfu-device",
  "wait-usb-mass-storage-device",
  "wait-usb-serial",
]);

/** An action (or one inside it) ran out of time: a JobError, as LAVA raises, that a block's `skip` may pass over. */
export class ActionTimedOut extends JobError {
  override name = "JobError";
}

/** Whether a failure is a timeout, which a top-level block's `timeout: {skip: true}` passes over. */
export function isTimeout(failure: JobFailure): boolean {
  return failure instanceof ActionTimedOut || failure instanceof LAVATimeoutError;
}

export interface Executor {
  run(action: PipelineAction, block: Block, parent: AbortSignal): Promise<void>;
}

export function executor(ctx: JobContext, implementations: Readonly<Record<string, ActionImplementation>>): Executor {
  const run = async (action: PipelineAction, block: Block, parent: AbortSignal): Promise<void> => {
    const namespace = action.namespace ? ` [${action.namespace}]` : "";
    const interval = typeof block.failure_retry_interval === "number" ? block.failure_retry_interval * 1000 : 1000;
    let repeatedFailure: JobFailure | undefined;
    // Once per action, not per attempt, as LAVA's: a retried action does not send or sync again.
    await callActionProtocols(ctx, action, block, parent).catch((error) => {
      throw asJobFailure(error);
    });
    for (let attempt = 1; attempt <= action.maxRetries; attempt++) {
      if (parent.aborted) throw asJobFailure(parent.reason);
      const timer = new AbortController();
      const started = performance.now();
      const timeout = setTimeout(() => timer.abort(new ActionTimeout(action)), timerMs(action.timeout));
      const signal = AbortSignal.any([parent, timer.signal]);
      ctx.log.info(`start: ${action.level} ${action.name} (timeout ${formatDuration(action.timeout)})${namespace}`);
      try {
        const implementation = implementations[action.name];
        const children = async (filter?: (child: PipelineAction) => boolean) => {
          for (const child of action.pipeline) if (!filter || filter(child)) await run(child, block, signal);
        };
        const work = implementation
          ? implementation({
            ctx,
            action,
            block,
            signal,
            children,
            child: (child) => run(child, block, signal),
            remainingMs: () => action.timeout * 1000 - (performance.now() - started),
          })
          : children();
        // An abort wins even if the implementation is stuck in a call that ignores it.
        await Promise.race([work, aborted(signal)]);
        const duration = (performance.now() - started) / 1000;
        ctx.log.info(`end: ${action.level} ${action.name} (duration ${formatDuration(duration)})${namespace}`);
        if (REPORTED.has(action.name)) report(ctx, action, "pass", duration);
        if (action.repeat && attempt < action.maxRetries) continue;
        if (repeatedFailure) throw repeatedFailure;
        return;
      } catch (raw) {
        const failure = failureOf(action, raw, signal);
        const duration = (performance.now() - started) / 1000;
        ctx.log.error(`${action.name} failed: ${failure.name}: ${failure.message}`);
        if (REPORTED.has(action.name)) report(ctx, action, "fail", duration, failure);
        const retryable = !(failure instanceof JobCanceled) && !parent.aborted;
        if (action.repeat && attempt < action.maxRetries && retryable) {
          // A repeated block goes on after a failure; the job learns of it once every run is done.
          ctx.log.error(`${action.name} failed: ${attempt} of ${action.maxRetries} repeats.`);
          repeatedFailure = failure;
          continue;
        }
        if (attempt < action.maxRetries && retryable) {
          ctx.log.warning(`${action.name} failed: ${attempt} of ${action.maxRetries} attempts. Retrying.`);
          await new Promise((resolve) => setTimeout(resolve, interval));
          continue;
        }
        if (action.maxRetries > 1) ctx.log.error(`${action.name} failed after ${action.maxRetries} attempts`);
        throw failure;
      } finally {
        clearTimeout(timeout);
      }
    }
  };
  return { run };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

const TEST_SHELL_ACTIONS = new Set(["lava-test-shell", "lava-test-retry"]);

/** What a failure of `action` means for the job, LAVA's way. */
function failureOf(action: PipelineAction, raw: unknown, signal: AbortSignal): JobFailure {
  const reason = signal.aborted ? signal.reason : raw;
  if (reason instanceof ActionTimeout) {
    // LAVA raises JobError on timeouts, LAVATimeoutError for the test shell. The
    // shell and its retry wrapper share one timeout, and either timer may fire first.
    if (TEST_SHELL_ACTIONS.has(reason.action.name)) {
      return new LAVATimeoutError(`lava-test-shell timed out after ${reason.action.timeout} seconds`);
    }
    return INFRASTRUCTURE_TIMEOUTS.has(reason.action.name)
      ? new InfrastructureTimeout(reason.message)
      : new ActionTimedOut(reason.message);
  }
  // A wait on the console that ran out of time is a timeout, which LAVA counts as the job's.
  if (reason instanceof ExpectTimeout) return new JobError(`${action.name}: ${reason.message}`);
  return asJobFailure(reason);
}

function report(ctx: JobContext, action: PipelineAction, result: string, duration: number, failure?: JobFailure): void {
  ctx.log.results({
    definition: "lava",
    case: action.name,
    level: action.level,
    result,
    duration: duration.toFixed(2),
    ...(action.namespace ? { namespace: action.namespace } : {}),
    extra: { timeout: action.timeout, ...(action.url ? { url: action.url } : {}) },
    ...(failure ? { error_type: failure.errorType, error_msg: failure.message } : {}),
  });
}
