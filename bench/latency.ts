/**
 * What users wait for between their job and the lab, with a real worker
 * process and a real master (embedded database):
 *
 * - submit → Running: from the API call to the Running event (storing the job,
 *   scheduling, rendering the device, the worker told and starting the
 *   dispatcher and saying so).
 * - dispatch end → Finished: from the dispatcher's last log record to the
 *   Finished event (the worker noticing the exit, the end message, the master
 *   finishing the job).
 *
 * Measured for a Basalt worker (`deno task worker`, over the mailbox) and for
 * LAVA's own `lava-worker` running `lava-run` (Debian's lava-dispatcher, over
 * LAVA's HTTP worker API, woken through the event WebSocket), where it is
 * installed and this runs as root.
 *
 * Target: under 100 ms each for the Basalt worker. LAVA 2023.01 on this machine
 * (../shared/LAVA-REFERENCE.md §13): 37.8 s submit → Running (0.74 s with its
 * event publisher), up to 20 s dispatch end → Finished. The jobs fail at once
 * (their kernel does not exist), so the device's own time does not enter.
 *
 *   deno task bench latency
 */
import { parse, stringify } from "yaml";
import { qemuJob } from "../tests/support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab } from "../tests/support/lab.ts";
import { lavaQemuJob, lavaWorkerInstalled, startLavaWorker, stopLavaWorker } from "../tests/support/lava_worker.ts";
import { TestProcess } from "../tests/support/process.ts";

const RUNS = 20;

interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyFigures {
  readonly submitToRunningMs: Percentiles;
  readonly endToFinishedMs: Percentiles;
  readonly runs: number;
}

export interface LatencyBenchResult extends LatencyFigures {
  /** The same with LAVA's lava-worker and lava-run, or why it was not measured. */
  readonly lavaWorker: LatencyFigures | { readonly notMeasured: string };
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] };
};

/** Submits `definition` RUNS (+2 warm-up) times, one after the other, and times each job's two waits. */
async function measure(lab: TestLab, definition: string): Promise<LatencyFigures> {
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
}

function onlineOnce(lab: TestLab, worker: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = lab.master.lab.events.subscribe((e) => {
      if (e.kind === "worker" && e.data.hostname === worker && e.data.state === "Online") resolve(void stop());
    });
  });
}

/** A QEMU job whose kernel does not exist: it fails in validation, so only the lab's own time is measured. */
function failingAtOnce(job: Record<string, unknown>): Record<string, unknown> {
  const deploy = (job.actions as Record<string, Record<string, unknown>>[])[0].deploy;
  (deploy.images as Record<string, Record<string, unknown>>).kernel.url = "file:///nonexistent/basalt-kernel";
  return job;
}

async function basaltWorker(): Promise<LatencyFigures> {
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
    const online = onlineOnce(lab, "w1");
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    await online;
    return await measure(lab, stringify(failingAtOnce(qemuJob({ name: "latency" }))));
  } finally {
    await worker.stop();
    await lab.close();
  }
}

async function lavaWorker(): Promise<LatencyBenchResult["lavaWorker"]> {
  if (!lavaWorkerInstalled()) return { notMeasured: "Debian's lava-dispatcher is not installed" };
  if (Deno.uid() !== 0) return { notMeasured: "lava-run runs only as root" };
  const lab = await startTestLab({ heartbeatMs: 1000 });
  const token = "latency-bench-lava-worker-token";
  const dir = `${lab.dir}/lava-w1`;
  let worker: TestProcess | undefined;
  try {
    await lab.addLavaWorker("lava-w1", token);
    await lab.addDevice("qemu-lava", "qemu", "lava-w1", QEMU_DICTIONARY);
    const online = onlineOnce(lab, "lava-w1");
    worker = startLavaWorker({ name: "lava-w1", url: lab.master.url, token, dir, extraArgs: ["--level", "ERROR"] });
    await online;
    return await measure(lab, stringify(failingAtOnce(parse(lavaQemuJob("latency")) as Record<string, unknown>)));
  } finally {
    await stopLavaWorker(worker, dir);
    await lab.close();
  }
}

export async function runLatencyBench(): Promise<LatencyBenchResult> {
  const basalt = await basaltWorker();
  return { ...basalt, lavaWorker: await lavaWorker() };
}

export function formatLatencyBench(r: LatencyBenchResult): string {
  const line = (name: string, s: Percentiles, target = true) =>
    `  ${name}: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms${
      target ? ` (target < 100 ms: ${s.p99 < 100 ? "met" : "MISSED"})` : ""
    }`;
  const lava = r.lavaWorker;
  return [
    `real worker process, embedded database, ${r.runs} jobs`,
    line("submit → Running", r.submitToRunningMs),
    line("dispatch end → Finished", r.endToFinishedMs),
    "notMeasured" in lava ? `LAVA's lava-worker and lava-run: not measured (${lava.notMeasured})` : [
      `LAVA's lava-worker and lava-run over LAVA's HTTP worker API, ${lava.runs} jobs ` +
      "(LAVA 2023.01's own server: 37.8 s, or 0.74 s with its event publisher; up to 20 s):",
      line("submit → Running", lava.submitToRunningMs, false),
      line("dispatch end → Finished", lava.endToFinishedMs, false),
    ].join("\n"),
  ].join("\n");
}

if (import.meta.main) console.log(formatLatencyBench(await runLatencyBench()));
