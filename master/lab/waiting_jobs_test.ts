import { assertEquals } from "../../tests/support/assert.ts";
import { JobQueue } from "./queue.ts";
import type { SubmittedJob } from "./submission.ts";
import { WaitingJobs } from "./waiting_jobs.ts";

function submitted(id: number, fields: Partial<SubmittedJob> = {}): SubmittedJob {
  return {
    id,
    displayId: String(id),
    description: "",
    deviceType: "qemu",
    priority: 50,
    submitTime: 0,
    tags: [],
    submitter: 1,
    visibility: 0,
    healthCheck: false,
    ...fields,
  };
}

/** Waiting jobs on a fake clock; the timers are real, with times in the past or far away. */
function waiting(now = 1_000_000) {
  const queue = new JobQueue();
  const timedOut: number[] = [];
  const jobs = new WaitingJobs(queue, (job) => timedOut.push(job.id), () => now);
  return { queue, jobs, timedOut };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("waiting jobs are queued, but a health check is only kept", () => {
  const { queue, jobs } = waiting();
  jobs.add([submitted(1), submitted(2, { healthCheck: true })]);
  assertEquals([queue.has(1), queue.has(2), jobs.has(2), jobs.size], [true, false, true, 1]);
  jobs.close();
});

Deno.test("a job still waiting when its queue timeout has run out is reported once", async () => {
  const { jobs, timedOut } = waiting(1_000_000);
  jobs.add([submitted(1, { submitTime: 1_000_000 - 61_000, queueTimeoutSeconds: 60 })]);
  await tick();
  assertEquals(timedOut, [1]);
  jobs.close();
});

Deno.test("a job that started or ended before its queue timeout is not reported", async () => {
  const { jobs, timedOut, queue } = waiting(1_000_000);
  jobs.add([
    submitted(1, { submitTime: 0, queueTimeoutSeconds: 1 }),
    submitted(2, { submitTime: 0, queueTimeoutSeconds: 1 }),
  ]);
  jobs.remove(1);
  queue.remove(2); // taken by a decision, its start under way
  await tick();
  assertEquals(timedOut, []);
  jobs.close();
});

Deno.test("a job without a queue timeout waits for ever", async () => {
  const { jobs, timedOut } = waiting();
  jobs.add([submitted(1, { submitTime: 0 })]);
  await tick();
  assertEquals(timedOut, []);
  jobs.close();
});

Deno.test("a job taken by a decision but not started is queued again", () => {
  const { queue, jobs } = waiting();
  jobs.add([submitted(1), submitted(2, { healthCheck: true })]);
  queue.remove(1);
  jobs.putBack(1);
  jobs.putBack(2);
  jobs.putBack(3);
  assertEquals([queue.has(1), queue.has(2), queue.has(3)], [true, false, false]);
  jobs.close();
});

Deno.test("removing a waiting job returns what was known of it and forgets it", () => {
  const { queue, jobs } = waiting();
  jobs.add([submitted(7, { description: "seven" })]);
  assertEquals(jobs.remove(7)?.description, "seven");
  assertEquals([jobs.has(7), queue.has(7), jobs.remove(7)], [false, false, undefined]);
});
