/**
 * The jobs a worker runs: one supervised `dispatch-run` actor and one detached
 * dispatch process per job. This module does the I/O the actors ask for —
 * writing the job's files, starting and signalling the process, following its
 * log file, reading its result — and reports back to the actors as events.
 *
 * Everything needed to carry on after a worker restart is either in the actor's
 * persisted snapshot (pid, how much log was sent) or in the job's directory
 * (files, log, result), so a new worker re-attaches to processes the old one
 * started instead of killing them.
 */
import { existsSync } from "node:fs";
import { join } from "../../actors/path.ts";
import { parse as parseYaml } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { MAX_TIMER_MS, timeoutSeconds } from "../../actors/definitions/timeouts.ts";
import { jobAddress, type JobStart, type LabProtocol } from "../../actors/lab/protocol.ts";
import {
  type DispatchRunContext,
  dispatchRunMachine,
  type DispatchRunOutcome,
} from "../../actors/machines/dispatch_run.ts";
import type { MailboxEndpoint } from "../../actors/mailbox/endpoint.ts";
import type { ActorHost } from "../../actors/process/host.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { SupervisedActor } from "../../actors/runtime/supervisor.ts";
import { deviceResources } from "../resources/device.ts";
import { fileSink, JobLog } from "../job/log.ts";
import { ShellPower } from "../drivers/power.ts";
import {
  type DetachedProcess,
  isAlive,
  killProcessesUnder,
  signalGroup,
  spawnDetached,
  waitForExit,
} from "../system/processes.ts";
import { followLog } from "./log_follow.ts";
import { ConsoleRelays } from "./console_relay.ts";
import { CONSOLE_SOCKET, type DownFrame, opensConsole } from "../../actors/lab/console_frames.ts";
import { removeJobTftpDir, tftpRoot } from "../drivers/tftp_dir.ts";
import { dropStaleExports } from "../drivers/nfs_export.ts";
import { DEFAULT_CACHE_BYTES, pruneDownloadCache } from "./download_cache.ts";

/** The kind of the actors that run jobs, in the worker's journal. */
export const RUN_KIND = "dispatch-run";
/** Where the master's mailbox peer is named in a worker's connect mode. */
const MASTER = "master";
/**
 * A job's log goes to the master at most once per this interval (a line after a
 * quiet spell goes at once). Each batch costs a journal write here and a commit
 * and a push to every follower on the master; 100 ms halves a steady stream's
 * batches and stays far inside what a person watching a log notices.
 */
const LOG_BATCH_INTERVAL_MS = 100;

export interface JobRunsOptions {
  readonly host: ActorHost<unknown>;
  readonly mailbox: MailboxEndpoint<LabProtocol, unknown>;
  /** Jobs live in `<stateDir>/jobs/<id>/`; downloads are cached in `<stateDir>/cache/`. */
  readonly stateDir: string;
  /** 0 for no limit. */
  readonly jobLimit: number;
  /** How long a cancelled dispatch process has after SIGTERM before SIGKILL. */
  readonly cancelGraceMs: number;
  /** The worker's dispatcher configuration, used when the master sends none. */
  readonly dispatcherConfig?: string;
  readonly envDut?: string;
  /** The dispatch process's environment. */
  readonly environment: Record<string, string>;
  /** The command that runs the dispatcher, before its arguments. */
  readonly dispatchCommand: readonly string[];
  /** Directories jobs may read `file://` URLs and local git repositories from (the dispatcher's default unless given). */
  readonly fileDirs?: readonly string[];
  /** The largest download a job may make, once decompressed (the dispatcher's default unless given). */
  readonly maxDownloadBytes?: number;
  /** The most the download cache keeps (default DEFAULT_CACHE_BYTES). */
  readonly cacheBytes?: number;
  /** How long past its timeout a job's dispatcher has to end it before the worker does (default 120 s). */
  readonly watchdogMarginMs?: number;
  readonly logger: Logger;
}

type RunActor = SupervisedActor<typeof dispatchRunMachine>;

interface Attachment {
  /** Set once the process has been waited on, so it is waited on once. */
  watching: boolean;
  graceTimer?: ReturnType<typeof setTimeout>;
  /** Fires when the job is past its own timeout and the dispatcher has not ended it. */
  watchdog?: ReturnType<typeof setTimeout>;
  /** The watchdog fired: the job is being stopped for running past its timeout. */
  overdue?: number;
  killed: boolean;
}

/**
 * What the dispatcher has after the job's timeout to end the job itself (finalize, power off) before the worker
 * stops it. The worker's watchdog is for a dispatcher that cannot act on its own timer: a job's regular expression
 * backtracking on device output blocks its event loop, and only another process can end it.
 */
const WATCHDOG_MARGIN_MS = 120_000;

/** The job's own timeout in seconds (`timeouts.job`), or undefined when it has none or cannot be read. */
function jobTimeoutOf(definition: string): number | undefined {
  try {
    // Read as the dispatcher reads it (the master hands it over as JSON: see yaml.ts).
    const job = loadYaml(definition).value;
    return isMapping(job) && isMapping(job.timeouts) ? timeoutSeconds(job.timeouts.job) : undefined;
  } catch {
    return undefined;
  }
}

/** The largest `description.yaml` the worker sends with a job's end: a larger one is left out. */
const OUTCOME_FILE_BYTES = 1024 * 1024;
/** The longest error message a job end carries. */
const ERROR_MESSAGE_CHARS = 16 * 1024;

function cut(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}… (cut at ${chars} characters)` : text;
}

/** A file's text when it is at most `maxBytes`; undefined when it is missing or larger. */
function readBounded(path: string, maxBytes: number): string | undefined {
  try {
    if (Deno.statSync(path).size > maxBytes) return undefined;
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The last `bytes` of a file, however large it grew. */
function readTail(path: string, bytes: number): string | undefined {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    const size = file.statSync().size;
    file.seekSync(Math.max(0, size - bytes), Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.min(size, bytes));
    let filled = 0;
    while (filled < buffer.length) {
      const n = file.readSync(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled));
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

/** The dispatcher's own entry point, as `deno run` needs it (a package points at its bundle instead). */
export const DISPATCH_MAIN = Deno.env.get("BASALT_DISPATCH_MAIN") ??
  new URL("../dispatch/main.ts", import.meta.url).pathname;

export class JobRuns {
  readonly #o: JobRunsOptions;
  readonly #runs = new Map<string, RunActor>();
  readonly #attachments = new Map<string, Attachment>();
  readonly #log: Logger;
  readonly #consoles: ConsoleRelays;

  constructor(options: JobRunsOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "runs" });
    this.#consoles = new ConsoleRelays(options.mailbox, options.logger);
  }

  /** A frame from a reservation's holder, for the job's console. */
  consoleDown(job: string, frame: DownFrame): void {
    this.#consoles.down(job, frame);
  }

  /** The jobs with a dispatch process (or about to have one). */
  running(): string[] {
    return [...this.#runs.keys()];
  }

  /** Re-attaches to the jobs a previous worker process left running. */
  restore(): void {
    for (const record of this.#o.host.restoredOfKind(RUN_KIND)) {
      const job = record.id;
      const actor = this.#spawnActor(job, { snapshot: record.snapshot, sequence: record.sequence });
      const snapshot = actor.getSnapshot() as unknown as { value: string; status: string; context: DispatchRunContext };
      this.#log.info("re-attaching to a job", { job, state: snapshot.value, pid: snapshot.context.pid });
      if (snapshot.status === "done") {
        this.#forget(job);
      } else if (snapshot.value === "starting") {
        const recorded = this.#readPidFile(job);
        if (recorded) this.#spawned(job, actor, recorded);
        else this.#launch(job, actor);
      } else {
        this.#attach(job, actor);
        if (snapshot.value === "cancelling") this.#terminate(snapshot.context);
        if (snapshot.value === "killed") this.#attachment(job).killed = true;
      }
    }
  }

  /** Starts a job the master sent; refuses it when at the job limit. */
  start(body: JobStart): void {
    if (this.#runs.has(body.job)) {
      this.#log.warning("the master started a job this worker already runs; ignored", { job: body.job });
      return;
    }
    if (this.#o.jobLimit > 0 && this.#runs.size >= this.#o.jobLimit) {
      this.#o.mailbox.send(MASTER, jobAddress(body.job), "job.refused", {
        job: body.job,
        reason: `the worker is at its job limit (${this.#o.jobLimit})`,
      });
      return;
    }
    const dir = this.#jobDir(body.job);
    try {
      Deno.mkdirSync(join(dir, "out"), { recursive: true });
      Deno.writeTextFileSync(join(dir, "job.yaml"), body.definition);
      Deno.writeTextFileSync(join(dir, "device.yaml"), body.device);
      const dispatcher = body.dispatcher ?? this.#o.dispatcherConfig;
      if (dispatcher !== undefined) Deno.writeTextFileSync(join(dir, "dispatcher.yaml"), dispatcher);
      const envDut = body.envDut ?? this.#o.envDut;
      if (envDut !== undefined) Deno.writeTextFileSync(join(dir, "env-dut.yaml"), envDut);
      Deno.writeTextFileSync(join(dir, "log.jsonl"), "");
    } catch (error) {
      this.#o.mailbox.send(MASTER, jobAddress(body.job), "job.refused", {
        job: body.job,
        reason: `the worker cannot write the job's files in ${dir}: ${error instanceof Error ? error.message : error}`,
      });
      return;
    }
    this.#launch(body.job, this.#spawnActor(body.job));
  }

  /** Cancels a job; a job this worker does not have is reported ended at once, as LAVA's workers do. */
  cancel(job: string): void {
    const actor = this.#runs.get(job);
    if (actor) return actor.send({ type: "cancel" });
    this.#o.mailbox.send(MASTER, jobAddress(job), "job.finished", {
      job,
      result: "fail",
      errorType: "Canceled",
      errorMsg: "the worker has no such job",
    });
  }

  /** Stops following logs; the dispatch processes carry on for the next worker to re-attach to. */
  async detach(): Promise<void> {
    this.#consoles.close();
    for (const attachment of this.#attachments.values()) {
      clearTimeout(attachment.graceTimer);
      clearTimeout(attachment.watchdog);
    }
    await this.#pruning;
  }

  #jobDir(job: string): string {
    return join(this.#o.stateDir, "jobs", job);
  }

  #attachment(job: string): Attachment {
    let attachment = this.#attachments.get(job);
    if (!attachment) this.#attachments.set(job, attachment = { watching: false, killed: false });
    return attachment;
  }

  #spawnActor(job: string, restore?: { snapshot: unknown; sequence: number }): RunActor {
    const logic = dispatchRunMachine.provide({
      actions: {
        reportStarted: ({ context }) => this.#o.mailbox.send(MASTER, jobAddress(context.job), "job.started", { job }),
        reportLog: ({ context }, params) =>
          this.#o.mailbox.send(MASTER, jobAddress(context.job), "job.log", {
            job: context.job,
            from: params.from,
            lines: params.lines,
          }),
        reportEnd: ({ context }) => {
          const outcome = context.outcome ?? { result: "fail", errorType: "Bug", errorMsg: "no outcome recorded" };
          this.#o.mailbox.send(MASTER, jobAddress(context.job), "job.finished", { job: context.job, ...outcome });
          // Leave the actor's own transition first: forgetting it stops it.
          queueMicrotask(() => this.#forget(context.job));
        },
        terminate: ({ context }) => this.#terminate(context),
        kill: ({ context }) => this.#kill(context),
      },
    });
    const actor = this.#o.host.supervisor.spawn({ kind: RUN_KIND, id: job, logic, input: { job }, restore });
    this.#runs.set(job, actor);
    return actor;
  }

  #launch(job: string, actor: RunActor): void {
    const dir = this.#jobDir(job);
    const exists = (name: string) => existsSync(join(dir, name));
    if (!exists("job.yaml") || !exists("device.yaml")) {
      actor.send({ type: "spawn.failed", message: `the job's files are missing from ${dir}` });
      return;
    }
    const argv = [
      ...this.#o.dispatchCommand,
      "--job-id",
      job,
      "--output-dir",
      join(dir, "out"),
      "--device",
      join(dir, "device.yaml"),
      ...(exists("dispatcher.yaml") ? ["--dispatcher", join(dir, "dispatcher.yaml")] : []),
      ...(exists("env-dut.yaml") ? ["--env-dut", join(dir, "env-dut.yaml")] : []),
      "--cache-dir",
      join(this.#o.stateDir, "cache"),
      "--work-dir",
      join(dir, "work"),
      "--log-file",
      join(dir, "log.jsonl"),
      ...(this.#o.fileDirs ? ["--file-dirs", this.#o.fileDirs.join(",")] : []),
      ...(this.#o.maxDownloadBytes ? ["--max-download-size", String(this.#o.maxDownloadBytes)] : []),
      join(dir, "job.yaml"),
    ];
    let process: DetachedProcess;
    try {
      process = spawnDetached(argv, {
        cwd: dir,
        env: this.#o.environment,
        clearEnv: true,
        stderrFile: join(dir, "stderr.txt"),
      });
    } catch (error) {
      actor.send({ type: "spawn.failed", message: error instanceof Error ? error.message : String(error) });
      return;
    }
    // Written before the actor hears of it: a worker that dies in between finds the process from this file.
    Deno.writeTextFileSync(join(dir, "pid"), `${process.pid} ${process.startTime}\n`);
    const timeout = jobTimeoutOf(Deno.readTextFileSync(join(dir, "job.yaml")));
    if (timeout !== undefined) {
      // A deadline on the wall clock, in the job's directory, so that a restarted worker keeps it.
      Deno.writeTextFileSync(join(dir, "deadline"), `${Date.now() + timeout * 1000 + this.#margin}\n`);
    }
    this.#spawned(job, actor, process);
  }

  #readPidFile(job: string): DetachedProcess | undefined {
    try {
      const [pid, startTime] = Deno.readTextFileSync(join(this.#jobDir(job), "pid")).trim().split(" ");
      return Number.isSafeInteger(Number(pid)) ? { pid: Number(pid), startTime: startTime ?? "" } : undefined;
    } catch {
      return undefined;
    }
  }

  #spawned(job: string, actor: RunActor, process: DetachedProcess): void {
    actor.send({ type: "spawned", pid: process.pid, startTime: process.startTime });
    this.#attach(job, actor);
  }

  /** Follows the job's log and waits for its process to end, then reports how it ended. */
  #attach(job: string, actor: RunActor): void {
    const attachment = this.#attachment(job);
    if (attachment.watching) return;
    attachment.watching = true;
    const context = () => (actor.getSnapshot() as unknown as { context: DispatchRunContext }).context;
    const { pid, startTime, offset } = context();
    const process: DetachedProcess = { pid: pid!, startTime: startTime ?? "" };
    const dir = this.#jobDir(job);
    const consoleSocket = join(dir, "work", CONSOLE_SOCKET);
    // A reservation whose console opened under the previous worker.
    if (existsSync(consoleSocket)) void this.#consoles.attach(job, consoleSocket);
    this.#armWatchdog(job, actor, attachment);
    const ended = (async () => {
      await waitForExit(process);
      // A dispatcher that was killed or died never ran its finalize: stop what it
      // left running (QEMU runs in its own session) and power the device off for it.
      if (attachment.killed || !existsSync(join(dir, "out", "result.yaml"))) {
        await this.#sweep(job);
        await this.#powerOff(job);
      }
    })();
    const following = followLog(join(dir, "log.jsonl"), {
      offset,
      writerDone: ended,
      minIntervalMs: LOG_BATCH_INTERVAL_MS,
      onBatch: (batch) => {
        if (batch.lines.some(opensConsole)) void this.#consoles.attach(job, consoleSocket);
        if (actor.status === "running") actor.send({ type: "log", lines: batch.lines, offset: batch.offset });
      },
    });
    Promise.all([ended, following]).then(
      () => {
        clearTimeout(attachment.graceTimer);
        clearTimeout(attachment.watchdog);
        if (actor.status === "running") actor.send({ type: "exited", outcome: this.#outcome(job, attachment) });
      },
      (error) => {
        this.#log.error("lost track of a dispatch process", { job, error });
        if (actor.status === "running") {
          actor.send({
            type: "exited",
            outcome: {
              result: "fail",
              errorType: "Bug",
              errorMsg: `the worker lost track of the dispatcher: ${error}`,
            },
          });
        }
      },
    );
  }

  /** Cancels the job once its deadline has passed, if it is still running then. */
  #armWatchdog(job: string, actor: RunActor, attachment: Attachment): void {
    let deadline: number;
    try {
      deadline = Number(Deno.readTextFileSync(join(this.#jobDir(job), "deadline")).trim());
    } catch {
      return; // no job timeout: nothing to watch
    }
    if (!Number.isFinite(deadline)) return;
    const check = () => {
      const left = deadline - Date.now();
      if (left > 0) {
        attachment.watchdog = setTimeout(check, Math.min(left, MAX_TIMER_MS));
        return;
      }
      if (actor.status !== "running") return;
      attachment.overdue = deadline;
      this.#log.warning("a job ran past its timeout and its dispatcher did not end it: stopping it", { job });
      actor.send({ type: "cancel" });
    };
    clearTimeout(attachment.watchdog);
    check();
  }

  get #margin(): number {
    return this.#o.watchdogMarginMs ?? WATCHDOG_MARGIN_MS;
  }

  #terminate(context: DispatchRunContext): void {
    const attachment = this.#attachment(context.job);
    if (context.pid === undefined) return;
    const process = { pid: context.pid, startTime: context.startTime ?? "" };
    this.#log.info("cancelling a job: SIGTERM to its dispatcher", { job: context.job, pid: context.pid });
    signalGroup(process, "SIGTERM");
    clearTimeout(attachment.graceTimer);
    attachment.graceTimer = setTimeout(() => {
      const actor = this.#runs.get(context.job);
      if (actor?.status === "running" && isAlive(process)) actor.send({ type: "grace.expired" });
    }, this.#o.cancelGraceMs);
  }

  #kill(context: DispatchRunContext): void {
    const attachment = this.#attachment(context.job);
    attachment.killed = true;
    if (context.pid === undefined) return;
    this.#log.warning("the dispatcher did not stop in time: SIGKILL to its process group", {
      job: context.job,
      pid: context.pid,
      graceMs: this.#o.cancelGraceMs,
    });
    signalGroup({ pid: context.pid, startTime: context.startTime ?? "" }, "SIGKILL");
  }

  /** Kills every process whose command line names the job's directory (what a dead dispatcher started). */
  async #sweep(job: string): Promise<void> {
    const pids = await killProcessesUnder(this.#jobDir(job));
    if (pids.length > 0) this.#log.warning("stopped what a dead dispatcher left running", { job, pids });
  }

  /** Runs the device's power-off command, logging into the job's own log. */
  async #powerOff(job: string): Promise<void> {
    const dir = this.#jobDir(job);
    const log = new JobLog([fileSink(join(dir, "log.jsonl"))]);
    log.warning("The dispatcher is gone without finishing: the worker powers the device off");
    try {
      const device = parseYaml(Deno.readTextFileSync(join(dir, "device.yaml")));
      const power = isMapping(device) ? new ShellPower(deviceResources(device).power, log) : undefined;
      if (!(await power?.off(30_000))) {
        log.info("The device has no power-off command");
      }
    } catch (error) {
      log.error(`Powering the device off failed: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** How the job ended, from its result.yaml, or from how its process ended when there is none. */
  #outcome(job: string, attachment: Attachment): DispatchRunOutcome {
    const dir = this.#jobDir(job);
    const read = (name: string) => readBounded(join(dir, name), OUTCOME_FILE_BYTES);
    // A description too large for the master's message is left out rather than losing the job's end.
    const description = read("out/description.yaml");
    const withDescription = (o: DispatchRunOutcome) => (description !== undefined ? { ...o, description } : o);
    let result: unknown;
    try {
      // Read up to 8 MiB, so that a long error message is cut rather than the whole result lost.
      result = parseYaml(readBounded(join(dir, "out/result.yaml"), 8 * OUTCOME_FILE_BYTES) ?? "");
    } catch {
      result = undefined;
    }
    if (isMapping(result) && (result.result === "pass" || result.result === "fail")) {
      return withDescription({
        result: result.result,
        ...(typeof result.error_type === "string" ? { errorType: cut(result.error_type, 200) } : {}),
        ...(typeof result.error_msg === "string" ? { errorMsg: cut(result.error_msg, ERROR_MESSAGE_CHARS) } : {}),
      });
    }
    if (attachment.overdue !== undefined) {
      return withDescription({
        result: "fail",
        errorType: "Job",
        errorMsg: `the job ran past its timeout and its dispatcher did not end it (blocked, e.g. by a regular ` +
          `expression that backtracks without end): the worker stopped it ${this.#margin / 1000} s later`,
      });
    }
    if (attachment.killed) {
      return withDescription({
        result: "fail",
        errorType: "Canceled",
        errorMsg: `the dispatcher did not stop within ${Math.round(this.#o.cancelGraceMs / 1000)} s and was killed`,
      });
    }
    const stderr = cut(
      (readTail(join(dir, "stderr.txt"), 64 * 1024) ?? "").trim().split("\n").slice(-20).join("\n"),
      ERROR_MESSAGE_CHARS,
    );
    return withDescription({
      result: "fail",
      errorType: "Infrastructure",
      errorMsg: `the dispatcher ended without a result${stderr ? `: ${stderr}` : ""}`,
    });
  }

  #forget(job: string): void {
    const attachment = this.#attachments.get(job);
    if (attachment) {
      clearTimeout(attachment.graceTimer);
      clearTimeout(attachment.watchdog);
    }
    this.#attachments.delete(job);
    this.#runs.delete(job);
    this.#o.host.supervisor.stop(RUN_KIND, job, { forget: true });
    this.#removeServedFiles(job).catch((error) =>
      this.#log.warning("could not remove a finished job's directory", { job, error })
    );
    void this.pruneCache();
  }

  /**
   * A dispatcher killed before its finalize leaves the job's files under the TFTP root and, once its directory is
   * gone, a stale NFS export: the job's end removes them.
   */
  async #removeServedFiles(job: string): Promise<void> {
    const path = join(this.#jobDir(job), "dispatcher.yaml");
    let config: Record<string, unknown> = {};
    try {
      const parsed: unknown = existsSync(path) ? parseYaml(await Deno.readTextFile(path)) : {};
      config = isMapping(parsed) ? parsed : {};
      const root = tftpRoot(config);
      if (root) await removeJobTftpDir(root, job);
    } catch (error) {
      this.#log.warning("could not remove a finished job's TFTP files", { job, error });
    }
    // The export before the directory: a device still writing through it would make the removal fail.
    await dropStaleExports(config, job).catch((error) =>
      this.#log.warning("could not drop a finished job's NFS export", { job, error })
    );
    await Deno.remove(this.#jobDir(job), { recursive: true });
  }

  /** Keeps the download cache within its size (after every job, and when the worker starts). */
  pruneCache(): Promise<void> {
    const dir = join(this.#o.stateDir, "cache");
    // One pruning at a time; the last one is what `close` waits for.
    this.#pruning = this.#pruning.then(() => pruneDownloadCache(dir, this.#o.cacheBytes ?? DEFAULT_CACHE_BYTES)).then(
      (removed) => void (removed.length > 0 && this.#log.info("download cache pruned", { removed: removed.length })),
      (error) => this.#log.warning("could not prune the download cache", { dir, error }),
    );
    return this.#pruning;
  }
  #pruning: Promise<void> = Promise.resolve();
}
