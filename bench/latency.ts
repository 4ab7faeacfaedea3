/**
 * What users wait for between their job and the lab, with a real worker
 * process (`deno task worker`) and a real master (embedded database):
 *
 * - submit → Running: from the API call to the Running event (storing the job,
 *   scheduling, rendering the device, the mailbox to the worker, the worker
 *   starting the dispatcher and saying so).
 * - dispatch end → Finished: from the dispatcher's last log record to the
 *   Finished event (the worker noticing the exit, the end message, the master
 *   finishing the job).
 *
 * Target: under 100 ms each. LAVA 2023.01 on this machine: 37.8 s submit → Running.
 * The jobs fail at once (their kernel does not exist), so the device's own time
 * does not enter.
 *
 *   deno task bench latency
 */
import { stringify } from "yaml";
import { qemuJob } from "../tests/support/dut.ts";
import { QEMU_DICTIONARY, startTestLab } from "../tests/support/lab.ts";
import { TestProcess } from "../tests/support/process.ts";

const RUNS = 20;

export interface LatencyBenchResult {
  readonly submitToRunningMs: { p50: number; p99: number; max: number };
  readonly endToFinishedMs: { p50: number; p99: number; max: number };
  readonly runs: number;
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] };
};

export async function runLatencyBench(): Promise<LatencyBenchResult> {
  const lab = await startTestLab({ heartbeatMs: 1000 });
  const worker = TestProcess.deno("worker", "worker/main.ts", [
    "--name",
    "w1",
    "--master",
    lab.master.zmq,
    "--state-dir",
    `${lab.dir}/w1`,
    "--log-level",
    "error",
  ]);
  try {
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    await new Promise<void>((resolve) => {
      const stop = lab.master.lab.events.subscribe((e) => {
        if (e.kind === "worker" && e.data.hostname === "w1" && e.data.state === "Online") resolve(void stop());
      });
    });
    const job = qemuJob({ name: "latency" });
    const deploy = (job.actions as Record<string, Record<string, unknown>>[])[0].deploy;
    (deploy.images as Record<string, Record<string, unknown>>).kernel.url = "file:///nonexistent/basalt-kernel";
    const definition = stringify(job);
    const toRunning: number[] = [];
    const toFinished: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      let submittedAt = 0;
      let runningAt = 0;
      let id = "";
      const finished = new Promise<number>((resolve) => {
        const stop = lab.master.lab.events.subscribe((e) => {
          if (e.kind !== "testjob" || e.data.job !== id) return;
          if (e.data.state === "Running") runningAt = performance.now();
          if (e.data.state === "Finished") {
            stop();
            resolve(Date.now());
          }
        });
      });
      submittedAt = performance.now();
      const response = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition });
      id = response.body.job_ids[0];
      const finishedAt = await finished;
      const logs = await lab.api<{ lines: { dt: string }[] }>("GET", `/api/v1/jobs/${id}/logs`);
      const lastRecord = new Date(logs.body.lines.at(-1)!.dt).getTime();
      // The first two warm the JIT and the page cache.
      if (i < 2) continue;
      toRunning.push(runningAt - submittedAt);
      toFinished.push(finishedAt - lastRecord);
    }
    return { submitToRunningMs: stats(toRunning), endToFinishedMs: stats(toFinished), runs: RUNS };
  } finally {
    await worker.stop();
    await lab.close();
  }
}

export function formatLatencyBench(r: LatencyBenchResult): string {
  const line = (name: string, s: { p50: number; p99: number; max: number }) =>
    `  ${name}: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (target < 100 ms: ${
      s.p99 < 100 ? "met" : "MISSED"
    })`;
  return [
    `real worker process, embedded database, ${r.runs} jobs`,
    line("submit → Running", r.submitToRunningMs),
    line("dispatch end → Finished", r.endToFinishedMs),
  ].join("\n");
}

if (import.meta.main) console.log(formatLatencyBench(await runLatencyBench()));
