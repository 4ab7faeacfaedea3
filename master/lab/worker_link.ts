/**
 * What workers say to the master, through its mailbox: sessions opening and
 * closing (the worker actors follow them), and each job's messages — started,
 * log lines (stored in the same journal batch as their acknowledgement, results
 * extracted, events published, followers told), finished, refused. A worker
 * speaks only for the jobs the master gave it.
 */
import type { Transaction } from "kysely";
import { isMapping } from "../../actors/definitions/schema.ts";
import { JobHealth } from "../../actors/domain/states.ts";
import { type JobLogLine, type LabProtocol, parseWorkerSummary } from "../../actors/lab/protocol.ts";
import type { Delivery, DeliveryScope, PeerEvent } from "../../actors/mailbox/endpoint.ts";
import type { Committer } from "../../actors/runtime/committer.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import { appendLogLines, boundedLogMessage, logLinesInsert } from "../storage/job_logs.ts";
import { refusable, statementWork } from "../storage/journal.ts";
import type { Database } from "../storage/schema.ts";
import { storableText } from "../storage/storable.ts";
import type { Catalog } from "./catalog.ts";
import type { EventHub } from "./events.ts";
import type { LogFollowers } from "./log_followers.ts";
import type { ActorRegistry } from "./registry.ts";
import { storeResults } from "./results.ts";

type Tx = Transaction<Database>;

export interface WorkerLinkOptions {
  readonly registry: ActorRegistry;
  readonly catalog: Catalog;
  readonly events: EventHub;
  readonly committer: Committer<Tx>;
  readonly followers: LogFollowers;
  /** A worker the catalog does not know connected with a valid session: register it. */
  readonly registerWorker: (hostname: string) => void;
  readonly logger: Logger;
}

export class WorkerLink {
  readonly #o: WorkerLinkOptions;
  readonly #log: Logger;
  /** Log lines stored since start, for /metrics. */
  logLines = 0;

  constructor(options: WorkerLinkOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "worker-link" });
  }

  /** A worker's message about one of its jobs. */
  deliver(delivery: Delivery<LabProtocol>, scope: DeliveryScope<Tx>): void {
    const id = Number(delivery.body.job);
    const job = this.#o.registry.jobSnapshot(id);
    const actor = this.#o.registry.job(id);
    if (!job || !actor) {
      return this.#log.warning("a message for a job that is not running here; dropped", { job: id });
    }
    // Another worker's job is not its to end or log.
    if (job.context.worker !== delivery.peer) {
      this.#log.warning("a worker sent a message about a job it does not run; dropped", {
        job: id,
        worker: delivery.peer,
        kind: delivery.kind,
      });
      return;
    }
    switch (delivery.kind) {
      case "job.started":
        actor.send({ type: "started" });
        if (job.context.device) this.#o.registry.device(job.context.device)?.send({ type: "run", job: String(id) });
        return;
      case "job.log":
        return this.#storeLog(id, delivery.body.from, delivery.body.lines, scope);
      case "job.finished": {
        const { result, errorType, errorMsg, description } = delivery.body;
        const unstorable = this.#o.registry.facts(id)?.unstorable;
        const text = (value: string | undefined) => value === undefined ? undefined : storableText(value);
        return actor.send({
          type: "finished",
          ...(unstorable
            ? { result: "fail", errorType: "Test", errorMsg: unstorable }
            : { result, errorType: text(errorType), errorMsg: text(errorMsg) }),
          description: text(description),
        });
      }
      case "job.refused":
        this.#log.warning("a worker refused a job; it goes back to the queue", {
          job: id,
          worker: delivery.peer,
          reason: delivery.body.reason,
        });
        return actor.send({ type: "refused", reason: delivery.body.reason });
      default:
        this.#log.warning("a worker sent a message meant for workers; dropped", { kind: delivery.kind });
    }
  }

  /** A worker's session opened, closed or restarted without its journal. */
  peerEvent(event: PeerEvent): void {
    const { registry } = this.#o;
    if (event.type === "online") {
      const summary = parseWorkerSummary(event.summary);
      if (!this.#o.catalog.workers.has(event.peer)) {
        this.#log.warning("an unknown worker connected; it is registered", { worker: event.peer });
        this.#o.registerWorker(event.peer);
      }
      registry.worker(event.peer)?.send({
        type: "online",
        version: storableText(summary.version),
        jobLimit: summary.jobLimit,
        ...(summary.capabilities ? { capabilities: summary.capabilities } : {}),
      });
    } else if (event.type === "offline") {
      registry.worker(event.peer)?.send({ type: "offline" });
    } else if (event.type === "new-epoch") {
      // The worker lost its journal: the jobs it had are gone with it.
      for (const id of registry.jobIds()) {
        const actor = registry.job(id)!;
        if (registry.jobSnapshot(id)?.context.worker === event.peer && actor.getSnapshot().status === "active") {
          actor.send({ type: "abort", errorType: "Infrastructure", errorMsg: `worker ${event.peer} lost its state` });
          this.#log.warning("a worker restarted without its state; its job is failed", { job: id });
        }
      }
    }
  }

  #storeLog(id: number, from: number, lines: readonly JobLogLine[], scope: DeliveryScope<Tx>): void {
    const active = this.#o.registry.facts(id);
    if (!active) return this.#log.warning("log lines for a job that is not running; dropped", { job: id });
    if (from > active.nextLine) {
      this.#log.error("log lines arrived with a gap; the missing lines are lost", {
        job: id,
        expected: active.nextLine,
        from,
      });
    }
    const skip = Math.max(0, active.nextLine - from);
    const fresh = lines.slice(skip).map((l, i) => ({ ...l, msg: boundedLogMessage(l.msg), line: from + skip + i }));
    if (fresh.length === 0) return;
    this.logLines += fresh.length;
    active.nextLine = from + lines.length;
    const results = fresh.filter((l) => l.lvl === "results" && isMapping(l.msg))
      .map((l) => ({ line: l.line, msg: l.msg as Record<string, unknown> }));
    const stored = fresh.map((l) => ({ ...l, lvl: l.lvl === "event" ? "debug" : l.lvl }));
    const refused = (error: unknown) => this.#refused(id, fresh[0].line, fresh.at(-1)!.line, error);
    if (results.length === 0) {
      scope.journal(statementWork(logLinesInsert(id, stored)!, refused));
    } else {
      scope.journal(refusable(async (trx) => {
        await appendLogLines(trx, id, stored);
        await storeResults(trx, id, results);
      }, refused));
    }
    for (const line of fresh) {
      if (line.lvl === "event") {
        this.#o.events.publish("event", this.#o.catalog.usernames.get(active.submitter) ?? "", {
          message: line.msg,
          job: active.displayId,
        });
      }
    }
    this.#o.followers.lines(id, fresh);
  }

  /** The database refused part of a job's log: the lab goes on, the job fails saying why. */
  #refused(id: number, first: number, last: number, error: unknown): void {
    const reason = `the master could not store log lines ${first}-${last}: ${
      storableText(error instanceof Error ? error.message : String(error)).slice(0, 1000)
    }`;
    this.#log.error("the database refused a job's log lines; the job will end Incomplete", { job: id, reason });
    const active = this.#o.registry.facts(id);
    if (active) return void (active.unstorable ??= reason);
    // The job ended before the refusal was known: its row says Complete, which it was not.
    this.#o.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.updateTable("test_jobs")
          .set({ health: JobHealth.byName.Incomplete, error_type: "Test", error_msg: reason })
          .where("id", "=", id).where("health", "=", JobHealth.byName.Complete).execute();
      })
    );
  }
}
