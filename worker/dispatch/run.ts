/**
 * Runs one job on one device, as LAVA's `lava-run` does: validate the job and the
 * device configuration, describe the pipeline (`description.yaml`), execute it
 * under the dispatch machine, and record the outcome (`result.yaml`, and the
 * `lava`/`job` result) — pass, or fail with LAVA's error type.
 */
import { join } from "../../actors/path.ts";
import { createActor, fromPromise, type SnapshotFrom } from "xstate";
import { validateDeviceYaml } from "../../actors/definitions/device_schema.ts";
import { formatDiagnostic, validateJob } from "../../actors/definitions/job_schema.ts";
import { buildPipeline, describeJob, type Pipeline } from "../../actors/definitions/pipeline.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { type DispatchFailure, dispatchMachine } from "../../actors/machines/dispatch.ts";
import { STRATEGIES } from "../strategies/mod.ts";
import { type DeviceResources, deviceResources } from "../resources/device.ts";
import { powerOff } from "../strategies/finalize.ts";
import { type Block, JobContext } from "../strategies/context.ts";
import { asJobFailure, ConfigurationError, JobCanceled, JobError } from "../job/errors.ts";
import { coordinatorSettings, MultinodeClient, subJobInfo } from "../drivers/multinode.ts";
import { timeoutSeconds, timerMs } from "../../actors/definitions/timeouts.ts";
import { executor, isTimeout } from "./execute.ts";
import { DEFAULT_FILE_DIRS } from "../drivers/download.ts";
import { JobLog, type LogSink } from "../job/log.ts";

export interface JobFiles {
  readonly jobId: string;
  /** The job definition's text (YAML or JSON). */
  readonly definition: string;
  /** The rendered device configuration's text. */
  readonly device: string;
  readonly dispatcher?: string;
  readonly envDut?: string;
  readonly outputDir: string;
  readonly workDir?: string;
  readonly cacheDir?: string;
  /** Directories `file://` URLs and local git repositories may be read from ({@link DEFAULT_FILE_DIRS} unless given). */
  readonly fileDirs?: readonly string[];
  /** The largest download, once decompressed (16 GiB unless given). */
  readonly maxDownloadBytes?: number;
  readonly sinks?: readonly LogSink[];
  /** Aborting it cancels the job (SIGTERM in `deno task dispatch`). */
  readonly cancel?: AbortSignal;
  readonly keepWorkDir?: boolean;
}

export interface JobOutcome {
  readonly result: "pass" | "fail";
  readonly errorType?: string;
  readonly errorMsg?: string;
  readonly pipeline?: Pipeline;
}

function parseBlock(text: string | undefined, what: string): Block {
  if (!text || text.trim() === "") return {};
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0 || (loaded.value !== null && !isMapping(loaded.value))) {
    throw new ConfigurationError(`${what} is not a YAML mapping: ${loaded.errors[0]?.message ?? "wrong shape"}`);
  }
  return (loaded.value ?? {}) as Block;
}

export async function runJob(files: JobFiles): Promise<JobOutcome> {
  const job = validateJob(files.definition, { file: "job.yaml" });
  const secrets = isMapping(job.job) && isMapping((job.job as Block).secrets)
    ? Object.values((job.job as Block).secrets as Record<string, unknown>).map(String)
    : [];
  const log = new JobLog(files.sinks ?? [], secrets);
  await Deno.mkdir(files.outputDir, { recursive: true });
  const finish = async (outcome: JobOutcome): Promise<JobOutcome> => {
    log.results({
      definition: "lava",
      case: "job",
      result: outcome.result,
      ...(outcome.errorType ? { error_type: outcome.errorType, error_msg: outcome.errorMsg } : {}),
    });
    await Deno.writeTextFile(
      join(files.outputDir, "result.yaml"),
      asYaml({
        definition: "lava",
        case: "job",
        result: outcome.result,
        ...(outcome.errorType ? { error_msg: outcome.errorMsg, error_type: outcome.errorType } : {}),
      }),
    );
    return outcome;
  };
  const fail = (failure: DispatchFailure, pipeline?: Pipeline) => {
    log.error(`${failure.type}: ${failure.message}`);
    return finish({ result: "fail", errorType: failure.type, errorMsg: failure.message, pipeline });
  };

  log.info(`Basalt dispatcher, job ${files.jobId}`);
  log.info("start: 0 validate");
  for (const warning of job.warnings) log.warning(formatDiagnostic(warning));
  if (!job.valid) {
    for (const error of job.errors) log.error(formatDiagnostic(error));
    log.results({ definition: "lava", case: "validate", result: "fail" });
    return await fail({ type: "Job", message: `invalid job definition: ${formatDiagnostic(job.errors[0])}` });
  }
  let device: Block, dispatcher: Block, envDut: Block, resources: DeviceResources;
  try {
    const checked = validateDeviceYaml(files.device, "device.yaml");
    if (!checked.valid) {
      for (const error of checked.errors) log.error(formatDiagnostic(error));
      throw new ConfigurationError(`invalid device configuration: ${formatDiagnostic(checked.errors[0])}`);
    }
    device = checked.config as Block;
    resources = deviceResources(device);
    dispatcher = parseBlock(files.dispatcher, "the dispatcher configuration");
    envDut = parseBlock(files.envDut, "the device environment (env-dut)");
  } catch (error) {
    log.results({ definition: "lava", case: "validate", result: "fail" });
    const failure = asJobFailure(error);
    return await fail({ type: failure.errorType, message: failure.message });
  }
  const jobBlock = job.job as Block;
  const pipeline = buildPipeline(jobBlock, device, STRATEGIES);
  await Deno.writeTextFile(
    join(files.outputDir, "description.yaml"),
    asYaml(describeJob(jobBlock, device, files.jobId, pipeline)),
  );
  const unsupported = pipeline.actions.filter((a) => !a.supported);
  if (unsupported.length > 0) {
    log.results({ definition: "lava", case: "validate", result: "fail" });
    return await fail({
      type: "Job",
      message: `Basalt's dispatcher cannot run ${unsupported.map((a) => `${a.section} ${a.method}`).join(", ")}`,
    }, pipeline);
  }
  log.results({ definition: "lava", case: "validate", result: "pass" });
  log.info("end: 0 validate");

  const workDir = files.workDir ?? join(files.outputDir, "tmp");
  await Deno.mkdir(workDir, { recursive: true });
  const ctx = new JobContext({
    jobId: files.jobId,
    job: jobBlock,
    device,
    resources,
    dispatcher,
    envDut,
    outputDir: files.outputDir,
    workDir,
    cacheDir: files.cacheDir,
    fileDirs: files.fileDirs ?? DEFAULT_FILE_DIRS,
    maxDownloadBytes: files.maxDownloadBytes,
    log,
  });
  ctx.runJobActions = async (job, signal) => {
    const other = buildPipeline(job, device, STRATEGIES);
    const missing = other.actions.filter((a) => !a.supported);
    if (missing.length > 0) {
      throw new JobError(`Basalt's dispatcher cannot run ${missing.map((a) => `${a.section} ${a.method}`).join(", ")}`);
    }
    const otherBlocks = (job.actions as Block[]).map((entry) => Object.values(entry)[0] as Block);
    const saved = ctx.job;
    ctx.job = job;
    try {
      for (const action of other.actions.slice(0, -1)) {
        const block = otherBlocks[action.jobAction!];
        await executor(ctx, STRATEGIES.find(action.section, block)!.actions()).run(action, block, signal);
      }
    } finally {
      ctx.job = saved;
    }
  };
  const multinode = subJobInfo(jobBlock, files.jobId, timeoutSeconds);
  if (multinode) {
    ctx.multinode = new MultinodeClient(coordinatorSettings(dispatcher), multinode, log);
    try {
      // As in LAVA, no sub-job starts before the whole group has.
      await ctx.multinode.groupData(files.cancel);
    } catch (error) {
      const failure = files.cancel?.aborted ? new JobCanceled("the job was cancelled") : asJobFailure(error);
      await ctx.multinode.clearGroup();
      if (!files.keepWorkDir) await Deno.remove(workDir, { recursive: true }).catch(() => {});
      return await fail({ type: failure.errorType, message: failure.message }, pipeline);
    }
  }
  const blocks = (jobBlock.actions as Block[]).map((entry) => Object.values(entry)[0] as Block);
  const steps = pipeline.actions.slice(0, -1);
  const finalize = pipeline.actions.at(-1)!;
  // Each job action runs with its own strategy's implementations, made for it alone.
  const executors = steps.map((action) =>
    executor(ctx, STRATEGIES.find(action.section, blocks[action.jobAction!])!.actions())
  );
  const finalizer = executor(ctx, STRATEGIES.find("finalize", {})!.actions());
  const machine = dispatchMachine.provide({
    actors: {
      runAction: fromPromiseAction(async ({ index, signal }) => {
        const action = steps[index];
        const block = blocks[action.jobAction!];
        try {
          await executors[index].run(action, block, signal);
        } catch (error) {
          const failure = asJobFailure(error);
          // LAVA's `timeout: {skip: true}` on an action block: its timeout does not end the job.
          if (isTimeout(failure) && isMapping(block.timeout) && block.timeout.skip === true && !signal.aborted) {
            log.warning(`skip_timeout is set for ${action.name} - continuing to next action block.`);
            return;
          }
          throw { type: failure.errorType, message: failure.message } satisfies DispatchFailure;
        }
      }),
      finalize: fromPromiseAction(async ({ signal }) => {
        try {
          await finalizer.run(finalize, {}, signal);
        } catch (error) {
          // The device must be off even when finalize's own steps fail.
          await powerOff(ctx, 10_000).catch(() => {});
          throw error;
        }
      }),
    },
  });
  const dispatch = createActor(machine, { input: { total: steps.length } });
  const done = new Promise<SnapshotFrom<typeof machine>>((resolve, reject) => {
    dispatch.subscribe({
      next: (snapshot) => {
        if (snapshot.status === "done") resolve(snapshot);
      },
      error: reject,
    });
  });
  const jobTimer = setTimeout(
    () => dispatch.send({ type: "job.timeout", seconds: pipeline.jobTimeout }),
    timerMs(pipeline.jobTimeout),
  );
  const onCancel = () => {
    log.warning("The job was cancelled");
    dispatch.send({ type: "cancel" });
  };
  files.cancel?.addEventListener("abort", onCancel, { once: true });
  dispatch.start();
  let failure: DispatchFailure | undefined;
  try {
    failure = (await done).output?.failure;
  } finally {
    clearTimeout(jobTimer);
    files.cancel?.removeEventListener("abort", onCancel);
    await powerOff(ctx, 10_000).catch(() => {});
    await ctx.multinode?.clearGroup();
    if (!files.keepWorkDir) await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
  if (failure) return await fail(failure, pipeline);
  return await finish({ result: "pass", pipeline });
}

/** A promise actor that gets the machine's abort signal (stopped actor = aborted action). */
function fromPromiseAction<I>(fn: (input: I & { signal: AbortSignal }) => Promise<void>) {
  return fromPromise<void, I>(({ input, signal }) => fn({ ...input, signal }));
}
/**
 * YAML output files (`description.yaml`, `result.yaml`) written as JSON, which
 * every YAML reader reads: a dispatch process starts per job, and this spares it
 * loading and running a YAML writer.
 */
function asYaml(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
