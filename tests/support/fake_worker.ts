/**
 * A worker that runs nothing: a real mailbox peer speaking the lab protocol to a
 * real master, which takes job starts and says what the test tells it to.
 */
import { jobAddress, type JobLogLine, type LabProtocol, labProtocol, WORKER_RUNS } from "../../actors/lab/protocol.ts";
import type { MailboxEndpoint } from "../../actors/mailbox/endpoint.ts";
import { ActorHost } from "../../actors/process/host.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { SqliteJournal } from "../../actors/runtime/sqlite_journal.ts";
import { Condition } from "./wait.ts";

const WAIT_MS = 30_000;

/**
 * A worker that runs nothing: it takes job starts and says what the test tells it to.
 * It returns once the master has welcomed it, so the master already knows it.
 */
export async function startFakeWorker(name: string, master: string, dir: string, version = "fake") {
  const host = await ActorHost.open<unknown>({
    name,
    journal: SqliteJournal.open(dir),
    logger: createLogger({ process: name, level: "error" }),
  });
  const started: string[] = [];
  const cancels: string[] = [];
  let taken = 0;
  let welcomed = false;
  const changed = new Condition();
  const mailbox = await host.mailbox({
    protocol: labProtocol,
    mode: { kind: "connect", endpoints: [master], peer: "master" },
    heartbeatMs: 200,
    accepts: (to) => to === WORKER_RUNS,
    summary: () => ({ version, jobLimit: 0, running: [] }),
    onPeer: (event) => {
      // The master registers a worker before it sends the welcome this waits for.
      if (event.type === "online") welcomed = true;
      changed.notify();
    },
    onMessage: (delivery) => {
      if (delivery.kind === "job.start") started.push(delivery.body.job);
      if (delivery.kind === "job.cancel") cancels.push(String(delivery.body.job));
      changed.notify();
    },
  }) as MailboxEndpoint<LabProtocol, unknown>;
  try {
    await changed.until(() => welcomed, WAIT_MS, `${name} welcomed by the master`);
  } catch (error) {
    await host.close();
    throw error;
  }
  return {
    started,
    /** The next `count` jobs the master starts here. */
    async take(count: number): Promise<string[]> {
      await changed.until(() => started.length >= taken + count, WAIT_MS, `${count} job starts`);
      taken += count;
      return started.slice(taken - count, taken);
    },
    /** Starts, logs (each batch one `job.log`, numbered on from 0) and ends a job. */
    run(job: string, batches: readonly (readonly JobLogLine[])[], result: "pass" | "fail" = "pass") {
      mailbox.send("master", jobAddress(job), "job.started", { job });
      let from = 0;
      for (const lines of batches) {
        mailbox.send("master", jobAddress(job), "job.log", { job, from, lines });
        from += lines.length;
      }
      mailbox.send("master", jobAddress(job), "job.finished", { job, result });
    },
    /** Tells the master the job started, as a dispatcher that has begun would. */
    start(job: string) {
      mailbox.send("master", jobAddress(job), "job.started", { job });
    },
    cancels,
    close: () => host.close(),
  };
}
