/**
 * Runs one fault scenario against a real lab: starts it, submits the job, waits
 * for the trigger, injects the fault, waits for the job to end, and checks what
 * LAVA's rules demand — the job's health and error type, the device's health,
 * every line the device printed stored once and in order, the results, and no
 * process of the job left running.
 */
import { join } from "../../actors/path.ts";
import { SeededRandom } from "../support/random.ts";
import type { TestProcess } from "../support/process.ts";
import { FaultLab } from "./lab.ts";
import { jobDefinitions, TICK } from "./jobs.ts";
import type { Scenario } from "./scenario.ts";

export interface Outcome {
  readonly scenario: string;
  readonly fault: string;
  readonly expected: string;
  readonly observed: string;
  readonly linesLost: number;
  readonly duplicates: number;
  readonly problems: string[];
}

type Line = { line: number; lvl: string; msg: unknown };

async function logLines(lab: FaultLab, id: string): Promise<Line[]> {
  return ((await lab.api("GET", `/api/v1/jobs/${id}/logs`)).lines ?? []) as Line[];
}

/**
 * What a failed scenario leaves for whoever reads the test output (CI keeps only that): the job's state and the last
 * lines of its log, and what each of the lab's processes wrote to stderr (they log errors only).
 */
async function diagnostics(lab: FaultLab, id: string | undefined): Promise<string> {
  const parts: string[] = [];
  if (id) {
    const job = await lab.api("GET", `/api/v1/jobs/${id}`).catch((): Record<string, unknown> => ({}));
    parts.push(`job ${id}: ${JSON.stringify({ state: job.state, health: job.health, device: job.device })}`);
    const lines = await logLines(lab, id).catch(() => [] as Line[]);
    for (const l of lines.slice(-25)) {
      parts.push(`  ${l.line} ${l.lvl}: ${String(JSON.stringify(l.msg)).slice(0, 200)}`);
    }
  }
  for (const process of [lab.master, ...lab.workers, lab.coordinator]) {
    const tail = process?.stderr.slice(-15) ?? [];
    if (tail.length > 0) parts.push(`${process!.label} stderr:`, ...tail.map((l) => `  ${l.slice(0, 300)}`));
  }
  return parts.join("\n");
}

/** Resolves when the trigger's condition holds for the job. */
async function trigger(lab: FaultLab, scenario: Scenario, id: string): Promise<void> {
  const at = scenario.fault.at;
  if ("submit" in at) return;
  if ("random_ms" in at) {
    await lab.waitFor(async () => (await lab.api("GET", `/api/v1/jobs/${id}`)).state === "Running", 60_000, "Running");
    const random = new SeededRandom(at.seed);
    const [low, high] = at.random_ms;
    await new Promise((r) => setTimeout(r, low + random.int(Math.max(1, high - low))));
    return;
  }
  await lab.waitFor(
    async () => {
      const lines = await logLines(lab, id);
      if ("lines" in at) return lines.length >= at.lines;
      if ("action" in at) {
        return lines.some((l) =>
          l.lvl === "info" && String(l.msg).startsWith("start: ") && String(l.msg).includes(` ${at.action} `)
        );
      }
      return lines.some((l) => new RegExp(at.log).test(String(l.msg)));
    },
    120_000,
    `trigger ${JSON.stringify(at)}`,
  );
}

/** The job's own record once it has finished. */
async function finished(lab: FaultLab, id: string): Promise<Record<string, unknown>> {
  await lab.waitFor(
    async () => (await lab.api("GET", `/api/v1/jobs/${id}`)).state === "Finished",
    240_000,
    `job ${id} to finish`,
  );
  return await lab.api("GET", `/api/v1/jobs/${id}`);
}

async function submit(lab: FaultLab, definition: string): Promise<string[]> {
  const submitted = await lab.api("POST", "/api/v1/jobs", { definition });
  if (!submitted.job_ids) throw new Error(`submission refused: ${JSON.stringify(submitted)}`);
  return submitted.job_ids as string[];
}

/** Injects the fault; returns the job run while a killed process was down, when the scenario asks for one. */
async function inject(
  lab: FaultLab,
  scenario: Scenario,
  ids: string[],
): Promise<Record<string, unknown> | undefined> {
  const { do: fault, duration_ms: duration, restart_after_ms: restart } = scenario.fault;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // The worker that runs the watched job is the one a worker fault hits.
  const worker = lab.workerOf(String((await lab.api("GET", `/api/v1/jobs/${ids[0]}`)).device ?? ""));
  const killThenRestart = async (process: TestProcess, start: () => Promise<void>) => {
    process.kill("SIGKILL");
    await process.exited;
    if (restart === undefined) return;
    const down = Date.now();
    let meanwhile: Record<string, unknown> | undefined;
    if (scenario.expect.meanwhile) {
      const [definition] = await jobDefinitions(lab, scenario);
      meanwhile = await finished(lab, (await submit(lab, definition))[0]);
    }
    await pause(Math.max(0, restart - (Date.now() - down)));
    await start();
    return meanwhile;
  };
  switch (fault) {
    case "none":
    case "board-garbage":
    case "board-hang":
    case "board-panic":
    case "power-fail":
    case "download-stall":
    case "download-corrupt":
    case "disk-full":
    case "firmware-silent":
      return; // set up before the job, or nothing at all
    case "nfs-restart":
      await lab.ganesha!.restart();
      return;
    case "tftp-gone":
      await lab.tftpServer!.kill();
      return;
    case "kill-master":
      return await killThenRestart(lab.master, () => lab.startMaster());
    case "kill-worker":
      return await killThenRestart(lab.workers[worker], () => lab.startWorker(worker));
    case "kill-dispatch": {
      const pids = await lab.pids(`--job-id ${ids[0]} `);
      for (const pid of pids) Deno.kill(pid, "SIGKILL");
      return;
    }
    case "kill-coordinator":
      return await killThenRestart(lab.coordinator, () => lab.restartCoordinator());
    case "stop-worker":
      lab.workers[worker].kill("SIGSTOP");
      await pause(duration);
      lab.workers[worker].kill("SIGCONT");
      return;
    case "cut-zmq":
      await lab.proxy.cut();
      await pause(duration);
      lab.proxy.restore();
      return;
    case "restart-postgres":
      await lab.cluster!.restart(true);
      return;
    case "ser2net-restart":
      await lab.board!.stopSer2net();
      await pause(duration);
      await lab.board!.startSer2net();
      return;
    case "device-hang": {
      // The device stops answering: QEMU frozen, as a hung board would be.
      const qemu = (await lab.pids(`${lab.workerStateDir(worker)}/jobs/${ids[0]}/`)).filter((pid) => {
        try {
          return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[0].includes("qemu-system");
        } catch {
          return false;
        }
      });
      if (qemu.length === 0) throw new Error(`device-hang: no QEMU process of job ${ids[0]} to stop`);
      for (const pid of qemu) Deno.kill(pid, "SIGSTOP");
      return;
    }
  }
}

/** Tick lines the device printed, from the stored log: their numbers, in order. */
function ticks(lines: Line[]): number[] {
  return lines.filter((l) => l.lvl === "target").flatMap((l) => {
    const match = TICK.exec(String(l.msg).trim());
    return match ? [Number(match[1])] : [];
  });
}

export async function runScenario(scenario: Scenario): Promise<Outcome> {
  const kind = scenario.job.kind;
  const fault = scenario.fault.do;
  const firmwareBoard = kind === "uboot-ramdisk" || kind === "uboot-nfs";
  const lab = await FaultLab.start({
    database: scenario.database,
    board: kind === "board-ticks",
    uboot: fault === "firmware-silent" ? "silent" : firmwareBoard ? "u-boot" : undefined,
    hostTftp: fault === "tftp-gone",
    qemuDevices: kind === "multinode" ? 2 : kind === "board-ticks" || firmwareBoard ? 0 : scenario.workers,
    workers: scenario.workers,
    workerDiskMiB: fault === "disk-full" ? 24 : undefined,
    powerFails: fault === "power-fail",
  });
  const problems: string[] = [];
  let observed = "";
  let linesLost = 0;
  let duplicates = 0;
  const ids: string[] = [];
  try {
    if (fault === "board-garbage" || fault === "board-hang" || fault === "board-panic") {
      await lab.board!.power(`fault ${fault.slice("board-".length)}`);
    }
    if (fault === "download-stall") lab.downloadMode = "stall";
    if (fault === "download-corrupt") lab.downloadMode = "corrupt";
    for (const definition of await jobDefinitions(lab, scenario)) ids.push(...await submit(lab, definition));
    const watched = kind === "multinode" ? ids : ids.slice(0, 1);
    await trigger(lab, scenario, ids[0]);
    const meanwhile = await inject(lab, scenario, ids);
    const ends: Record<string, unknown>[] = [];
    for (const id of watched) ends.push(await finished(lab, id));
    const job = ends[0];
    if (scenario.expect.meanwhile) {
      if (meanwhile?.health !== scenario.expect.meanwhile) {
        problems.push(`the job run meanwhile ended ${meanwhile?.health ?? "never"}, not ${scenario.expect.meanwhile}`);
      } else if (meanwhile.device === job.device) {
        problems.push(`the job run meanwhile ran on ${meanwhile.device}, the faulty job's device`);
      }
    }
    // Every device a job used goes back to Idle once the worker has let it go.
    const devices: Record<string, unknown>[] = [];
    for (const e of ends) {
      const hostname = e.device ?? (kind === "board-ticks" ? "board01" : firmwareBoard ? "arm64-01" : "qemu01");
      const idle = await lab.waitFor(
        async () => (await lab.api("GET", `/api/v1/devices/${hostname}`)).state === "Idle",
        30_000,
        `device ${hostname} to be Idle`,
      ).then(() => true, () => false);
      const device = await lab.api("GET", `/api/v1/devices/${hostname}`);
      if (!idle) problems.push(`device ${hostname} is ${device.state}, not Idle`);
      devices.push(device);
    }
    const device = devices[0];
    observed = `${ends.map((e) => e.health).join("+")}${
      job.error_type ? ` (${job.error_type})` : ""
    }, device ${device.health}${meanwhile ? `; meanwhile ${meanwhile.health}` : ""}`;
    for (const e of ends) {
      if (e.health !== scenario.expect.health) {
        problems.push(`job ${e.id} ended ${e.health}, not ${scenario.expect.health}: ${e.error_msg ?? ""}`);
      }
    }
    if (scenario.expect.error_type !== undefined && (job.error_type ?? null) !== scenario.expect.error_type) {
      problems.push(`error type ${job.error_type}, not ${scenario.expect.error_type}`);
    }
    if (scenario.expect.error_msg !== undefined && !new RegExp(scenario.expect.error_msg).test(String(job.error_msg))) {
      problems.push(`error message ${JSON.stringify(job.error_msg)} does not match /${scenario.expect.error_msg}/`);
    }
    for (const d of devices) {
      if (d.health !== scenario.expect.device_health) {
        problems.push(`device ${d.hostname} health ${d.health}, not ${scenario.expect.device_health}`);
      }
    }
    if (kind !== "multinode" && kind !== "download") {
      const stored = await logLines(lab, ids[0]);
      const seen = ticks(stored);
      duplicates = seen.length - new Set(seen).size;
      const expected = job.health === "Complete" ? scenario.job.ticks : Math.max(0, ...seen);
      const missing = Array.from({ length: expected }, (_, i) => i + 1).filter((n) => !seen.includes(n));
      linesLost = missing.length;
      if ((kind === "board-ticks" || firmwareBoard) && lab.board) {
        // The device's own record: every tick it printed.
        const transcript = await Deno.readTextFile(lab.board.transcript);
        const printed = transcript.split(/\r?\n/).filter((l) => TICK.test(l.trim())).length;
        linesLost = Math.max(linesLost, printed - new Set(seen).size);
      }
      const ordered = seen.every((n, i) => i === 0 || n > seen[i - 1]);
      if (scenario.expect.lines === "complete" && (linesLost > 0 || duplicates > 0 || !ordered)) {
        problems.push(`log lines: ${linesLost} lost, ${duplicates} repeated${ordered ? "" : ", out of order"}`);
        if (missing.length > 0) {
          // What was stored where the first missing tick belongs: a loss, or a line the device garbled?
          const after = missing[0] - 1;
          const from = stored.findIndex((l) =>
            l.lvl === "target" && TICK.exec(String(l.msg).trim())?.[1] === `${after}`
          );
          const around = stored.slice(Math.max(0, from), Math.max(0, from) + 4)
            .map((l) => `${l.line}:${l.lvl}:${JSON.stringify(l.msg)}`);
          problems.push(`missing ticks ${missing.join(",")}; stored from tick-${after}: ${around.join(" | ")}`);
        }
      }
    }
    for (const id of watched) {
      const results = (await lab.api("GET", `/api/v1/jobs/${id}/results`)).results as {
        suite: string;
        name: string;
        result: string;
      }[];
      const job = results.find((r) => r.suite === "lava" && r.name === "job");
      if (scenario.expect.health === "Complete") {
        if (job?.result !== "pass") problems.push(`job ${id}: results lack lava.job pass`);
        if (kind !== "multinode" && !results.some((r) => r.name === "ticked" && r.result === "pass")) {
          problems.push(`job ${id}: results lack the test's own case`);
        }
      } else if (scenario.expect.health === "Incomplete") {
        if (job?.result !== "fail") problems.push(`job ${id}: results lack lava.job fail`);
        // LAVA's rule: trouble in the lab is the lab's, never a failed test case.
        const blamed = results.filter((r) => r.suite !== "lava" && r.result === "fail");
        if (blamed.length > 0) {
          problems.push(`job ${id}: test cases marked failed: ${blamed.map((r) => `${r.suite}.${r.name}`).join(", ")}`);
        }
      }
    }
    // Nothing of the job may outlive it (give the worker a moment to sweep).
    await new Promise((r) => setTimeout(r, 1500));
    const left: number[] = [];
    for (let i = 0; i < scenario.workers; i++) left.push(...await lab.pids(join(lab.workerStateDir(i), "jobs")));
    if (left.length > 0) problems.push(`processes left running: ${left.join(", ")}`);
    if (lab.ganesha && (await Deno.readTextFile(lab.ganesha.exportsFile)).trim() !== "") {
      problems.push("the job's NFS export was left behind");
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    if (problems.length > 0) {
      console.error(`\n${scenario.name} failed; what the lab said:\n${await diagnostics(lab, ids[0])}`);
    }
    await lab.close();
  }
  const e = scenario.expect;
  return {
    scenario: scenario.name,
    fault: `${fault} at ${JSON.stringify(scenario.fault.at)}`,
    expected: `${e.health}${e.error_type ? ` (${e.error_type})` : ""}, device ${e.device_health}${
      e.meanwhile ? `; meanwhile ${e.meanwhile}` : ""
    }`,
    observed: observed || "(did not finish)",
    linesLost,
    duplicates,
    problems,
  };
}

export function outcomeTable(outcomes: readonly Outcome[]): string {
  const rows = outcomes.map((o) => [
    o.problems.length ? "FAIL" : "ok",
    o.scenario,
    o.fault,
    o.expected,
    o.observed,
    String(o.linesLost),
    String(o.duplicates),
  ]);
  const header = ["", "scenario", "fault", "expected", "observed", "lost", "dup"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const problems = outcomes.filter((o) => o.problems.length).map((o) => `  ${o.scenario}: ${o.problems.join("; ")}`);
  return [line(header), ...rows.map(line), ...(problems.length ? ["", "problems:", ...problems] : [])].join("\n");
}
