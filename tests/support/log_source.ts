/**
 * A running job whose log the test writes: a worker that exists only as its
 * messages to the lab (online, job.started, job.log), handed to the lab the way
 * its mailbox hands a real worker's over, with the log lines stored as the
 * mailbox's journal would store them. For tests and benchmarks of the master's
 * log streams without a device.
 */
import { stringify } from "yaml";
import type { JobLogLine } from "../../actors/lab/protocol.ts";
import { qemuJobFor } from "../../ops/dut_jobs.ts";
import { QEMU_DICTIONARY, type TestLab, waitForJob } from "./lab.ts";

export interface LogSource {
  /** The job's id, e.g. "3". */
  readonly job: string;
  /** Appends lines to the job's log, as one batch from the worker. */
  push(messages: readonly string[]): void;
  /** Resolves when every pushed batch is stored. */
  flush(): Promise<void>;
}

/** Starts a job on a new device of a worker that is only this object; `name` names both. */
export async function startLogSource(lab: TestLab, name: string): Promise<LogSource> {
  const master = lab.master.lab;
  await lab.addWorker(name, { start: false });
  await lab.addDevice(`${name}-dev`, "qemu", name, QEMU_DICTIONARY);
  master.peerEvent({ type: "online", peer: name, summary: { version: "test", jobLimit: 0, running: [] } });
  const definition = qemuJobFor((file) => `/nonexistent/${file}`, { name: `${name} log source` });
  const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
    definition: stringify({ ...definition, requested_device: undefined, tags: undefined }),
  });
  if (submitted.status !== 201) throw new Error(`log source job refused: ${JSON.stringify(submitted.body)}`);
  const [job] = submitted.body.job_ids;
  await waitForJob(lab, job, (d) => d.state === "Scheduled" && d.device === `${name}-dev`, 10_000);
  let stored = Promise.resolve();
  const scope = {
    journal: (work: (tx: never) => void | Promise<void>) => {
      stored = stored.then(() => work(master.db as never));
    },
  };
  master.deliver({ peer: name, to: `job/${job}`, kind: "job.started", body: { job } }, scope);
  await waitForJob(lab, job, (d) => d.state === "Running", 10_000);
  let next = 0;
  return {
    job,
    push(messages) {
      const lines: JobLogLine[] = messages.map((msg) => ({ dt: new Date().toISOString(), lvl: "target", msg }));
      master.deliver({ peer: name, to: `job/${job}`, kind: "job.log", body: { job, from: next, lines } }, scope);
      next += lines.length;
    },
    flush: () => stored,
  };
}
