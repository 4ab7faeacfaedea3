/**
 * A worker process: its journal (SQLite in its state directory), its mailbox to
 * the master, and the jobs it runs. Jobs arrive as `job.start`, are cancelled by
 * `job.cancel`, and everything they produce goes back to the master's job
 * actors. Stopping a worker leaves its dispatch processes running; the next
 * worker on the same state directory takes them over.
 */
import { join } from "../actors/path.ts";
import { type LabProtocol, labProtocol, WORKER_RUNS, type WorkerSummary } from "../actors/lab/protocol.ts";
import type { MailboxEndpoint, PeerEvent } from "../actors/mailbox/endpoint.ts";
import { ActorHost } from "../actors/process/host.ts";
import { SqliteJournal } from "../actors/runtime/sqlite_journal.ts";
import type { CurveKeyPair } from "../actors/transport/zmq/curve.ts";
import { BASALT_VERSION } from "../actors/version.ts";
import { STRATEGIES } from "./strategies/mod.ts";
import { DISPATCH_MAIN, JobRuns, type JobRunsOptions, RUN_KIND } from "./runs/runs.ts";

export interface WorkerOptions extends
  Pick<
    JobRunsOptions,
    | "stateDir"
    | "jobLimit"
    | "cancelGraceMs"
    | "dispatcherConfig"
    | "envDut"
    | "environment"
    | "logger"
    | "fileDirs"
    | "maxDownloadBytes"
    | "watchdogMarginMs"
    | "cacheBytes"
  > {
  readonly name: string;
  /** Master endpoints, tried in turn. */
  readonly masters: readonly string[];
  readonly curve?: { readonly keyPair: CurveKeyPair; readonly serverPublicKey: string };
  readonly heartbeatMs?: number;
  /** How to run the dispatcher; `deno run -A worker/dispatch/main.ts` unless told. */
  readonly dispatchCommand?: readonly string[];
  readonly onPeer?: (event: PeerEvent) => void;
}

export interface RunningWorker {
  readonly runs: JobRuns;
  readonly mailbox: MailboxEndpoint<LabProtocol, unknown>;
  /** Stops the worker; its dispatch processes keep running. */
  close(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const journal = SqliteJournal.open(options.stateDir);
  const host = await ActorHost.open({ name: options.name, journal, logger: options.logger });
  // The mailbox and the runs need each other: the mailbox opens first and hands messages to the runs.
  const late: { runs?: JobRuns } = {};
  const mailbox = await host.mailbox({
    protocol: labProtocol,
    mode: { kind: "connect", endpoints: options.masters, peer: "master", curve: options.curve },
    heartbeatMs: options.heartbeatMs,
    accepts: (to) => to === WORKER_RUNS,
    summary: (): WorkerSummary => ({
      version: BASALT_VERSION,
      jobLimit: options.jobLimit,
      capabilities: STRATEGIES.capabilities(),
      // The hello goes out as the mailbox opens, before the restored runs are re-attached.
      running: late.runs?.running() ?? host.restoredOfKind(RUN_KIND).map((r) => r.id),
    }),
    onPeer: (event) => {
      options.logger.info(`master ${event.type}`, { ...event });
      options.onPeer?.(event);
    },
    onTransient: (delivery) => {
      if (delivery.kind === "console.down") late.runs?.consoleDown(delivery.body.job, delivery.body.frame);
    },
    onMessage: (delivery) => {
      switch (delivery.kind) {
        case "job.start":
          return late.runs!.start(delivery.body);
        case "job.cancel":
          return late.runs!.cancel(delivery.body.job);
        default:
          options.logger.warning("the master sent a message meant for the master; dropped", { kind: delivery.kind });
      }
    },
  });
  const runs = late.runs = new JobRuns({
    host: host as ActorHost<unknown>,
    mailbox: mailbox as MailboxEndpoint<LabProtocol, unknown>,
    stateDir: options.stateDir,
    jobLimit: options.jobLimit,
    cancelGraceMs: options.cancelGraceMs,
    watchdogMarginMs: options.watchdogMarginMs,
    cacheBytes: options.cacheBytes,
    dispatcherConfig: options.dispatcherConfig,
    envDut: options.envDut,
    environment: options.environment,
    dispatchCommand: options.dispatchCommand ?? [Deno.execPath(), "run", "--allow-all", DISPATCH_MAIN],
    fileDirs: options.fileDirs,
    maxDownloadBytes: options.maxDownloadBytes,
    logger: options.logger,
  });
  runs.restore();
  await Deno.mkdir(join(options.stateDir, "cache"), { recursive: true });
  void runs.pruneCache();
  return {
    runs,
    mailbox: mailbox as MailboxEndpoint<LabProtocol, unknown>,
    async close() {
      await runs.detach();
      await host.close();
    },
  };
}
