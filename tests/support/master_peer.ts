/**
 * The master's side of the lab protocol, in the test process: a real listening
 * mailbox (ZeroMQ ROUTER, SQLite journal) that sends jobs and cancels to workers
 * and keeps what they send back, per job — for testing workers before, and
 * apart from, the real master.
 */
import {
  type JobEnd,
  type JobLogLine,
  type LabProtocol,
  labProtocol,
  parseWorkerSummary,
  WORKER_RUNS,
  type WorkerSummary,
} from "../../actors/lab/protocol.ts";
import type { MailboxEndpoint, PeerEvent } from "../../actors/mailbox/endpoint.ts";
import { ActorHost } from "../../actors/process/host.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { SqliteJournal } from "../../actors/runtime/sqlite_journal.ts";
import { Condition } from "./wait.ts";

export interface JobRecord {
  started: number;
  lines: JobLogLine[];
  /** Batches that overlapped lines already kept (resends). */
  overlaps: number;
  /** Batches that left a gap: must never happen. */
  gaps: number;
  end?: JobEnd;
  refused?: string;
}

export class MasterPeer {
  readonly jobs = new Map<string, JobRecord>();
  readonly summaries = new Map<string, WorkerSummary>();
  readonly peerEvents: PeerEvent[] = [];
  readonly #changed = new Condition();

  private constructor(
    readonly dir: string,
    readonly host: ActorHost<unknown>,
    readonly mailbox: MailboxEndpoint<LabProtocol, unknown>,
  ) {}

  static async start(heartbeatMs = 200): Promise<MasterPeer> {
    const dir = await Deno.makeTempDir({ prefix: "basalt-master-peer-" });
    const host = await ActorHost.open<unknown>({
      name: "master",
      journal: SqliteJournal.open(dir),
      logger: createLogger({ process: "master-peer", level: "error" }),
    });
    const late: { peer?: MasterPeer } = {};
    const mailbox = await host.mailbox({
      protocol: labProtocol,
      mode: { kind: "listen", endpoint: "tcp://127.0.0.1:*" },
      heartbeatMs,
      accepts: (to) => to.startsWith("job/"),
      onPeer: (event) => {
        late.peer!.peerEvents.push(event);
        if (event.type === "online") late.peer!.summaries.set(event.peer, parseWorkerSummary(event.summary));
        late.peer!.#wake();
      },
      onMessage: (delivery) => {
        const job = late.peer!.#job(delivery.body.job);
        switch (delivery.kind) {
          case "job.started":
            job.started++;
            break;
          case "job.log": {
            const { from, lines } = delivery.body;
            if (from > job.lines.length) job.gaps++;
            if (from < job.lines.length) job.overlaps++;
            job.lines.push(...lines.slice(Math.max(0, job.lines.length - from)));
            break;
          }
          case "job.finished":
            job.end = delivery.body;
            break;
          case "job.refused":
            job.refused = delivery.body.reason;
            break;
        }
        late.peer!.#wake();
      },
    });
    const peer = late.peer = new MasterPeer(
      dir,
      host as ActorHost<unknown>,
      mailbox as MailboxEndpoint<LabProtocol, unknown>,
    );
    return peer;
  }

  get endpoint(): string {
    return this.mailbox.boundEndpoint;
  }

  #job(id: string): JobRecord {
    let job = this.jobs.get(id);
    if (!job) this.jobs.set(id, job = { started: 0, lines: [], overlaps: 0, gaps: 0 });
    return job;
  }

  #wake(): void {
    this.#changed.notify();
  }

  startJob(worker: string, job: string, definition: string, device: string): void {
    this.mailbox.send(worker, WORKER_RUNS, "job.start", { job, definition, device });
  }

  cancelJob(worker: string, job: string): void {
    this.mailbox.send(worker, WORKER_RUNS, "job.cancel", { job });
  }

  /** Waits until `predicate` holds, checking on every message. */
  until<T>(predicate: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    return this.#changed.until(predicate, timeoutMs, what);
  }

  finished(job: string, timeoutMs: number): Promise<JobEnd> {
    return this.until(() => this.jobs.get(job)?.end, timeoutMs, `end of job ${job}`);
  }

  async close(): Promise<void> {
    await this.host.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
