/**
 * A job's first deploy action run by the dispatcher's own strategies, in this
 * process, for the deploy strategies' unit tests: the job context it leaves
 * behind is what they check.
 */
import { buildPipeline } from "../../actors/definitions/pipeline.ts";
import { executor } from "../../worker/dispatch/execute.ts";
import { JobLog, type LogRecord } from "../../worker/job/log.ts";
import { deviceResources } from "../../worker/resources/device.ts";
import { JobContext } from "../../worker/strategies/context.ts";
import { STRATEGIES } from "../../worker/strategies/mod.ts";

export interface DeployRun {
  readonly ctx: JobContext;
  /** What the deploy logged, in order. */
  readonly logged: LogRecord[];
  /** Runs the deploy action (again, when called again). */
  run(): Promise<void>;
}

/**
 * A job context for a unit test of the dispatcher's strategies: `device` rendered into its resources, the rest as
 * given or empty (`dir` for its output and work).
 */
export function testContext(o: {
  device: Record<string, unknown>;
  jobId?: string;
  job?: Record<string, unknown>;
  dispatcher?: Record<string, unknown>;
  dir?: string;
  fileDirs?: readonly string[];
  log?: JobLog;
}): JobContext {
  const dir = o.dir ?? "/nonexistent";
  return new JobContext({
    jobId: o.jobId ?? "1",
    job: o.job ?? {},
    device: o.device,
    resources: deviceResources(o.device),
    dispatcher: o.dispatcher ?? {},
    envDut: {},
    outputDir: dir,
    workDir: o.dir ? `${dir}/work` : dir,
    fileDirs: o.fileDirs ?? [],
    log: o.log ?? new JobLog(),
  });
}

/** Prepares the first action of `job` (a deploy) on `device`, with `dir` for its files and work. */
export async function deployRun(o: {
  jobId: string;
  job: { actions: Record<string, unknown>[] } & Record<string, unknown>;
  device: Record<string, unknown>;
  dir: string;
  dispatcher?: Record<string, unknown>;
}): Promise<DeployRun> {
  const logged: LogRecord[] = [];
  const ctx = testContext({
    jobId: o.jobId,
    job: o.job,
    device: o.device,
    dispatcher: o.dispatcher,
    dir: o.dir,
    fileDirs: [o.dir],
    log: new JobLog([(record) => logged.push(record)]),
  });
  await Deno.mkdir(ctx.workDir);
  const pipeline = buildPipeline(o.job, o.device, STRATEGIES);
  const block = o.job.actions[0].deploy as Record<string, unknown>;
  const implementations = STRATEGIES.find("deploy", block)!.actions();
  return {
    ctx,
    logged,
    run: () => executor(ctx, implementations).run(pipeline.actions[0], block, new AbortController().signal),
  };
}
