/**
 * `deno task worker` against the master's side of the lab protocol: jobs run on
 * the QEMU device with their log, results and end relayed; a worker killed with
 * SIGKILL mid-job is replaced and the new one re-attaches to the running
 * dispatcher without losing or repeating a log line; cancels stop the
 * dispatcher's whole process group and power the device off; the job limit holds.
 */
import { stringify } from "yaml";
import { createLogger } from "../actors/runtime/log.ts";
import { startWorker } from "../worker/worker.ts";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { DUT_DIR, inlineTest, qemuDeviceYaml, qemuJob } from "./support/dut.ts";
import { MasterPeer } from "./support/master_peer.ts";
import { TestProcess } from "./support/process.ts";

function workerProcess(name: string, master: MasterPeer, stateDir: string): TestProcess {
  return TestProcess.deno(name, "worker/main.ts", [
    "--name",
    name,
    "--master",
    master.endpoint,
    "--state-dir",
    stateDir,
    "--file-dirs",
    DUT_DIR,
    "--heartbeat",
    "200",
    "--cancel-grace",
    "20",
  ]);
}

async function gone(path: string, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    try {
      await Deno.stat(path);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const msgs = (lines: { lvl: string; msg: unknown }[], lvl: string) =>
  lines.filter((l) => l.lvl === lvl).map((l) => l.msg);

Deno.test("a worker runs the job the master sends and relays its log, results and end", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const worker = workerProcess("w-relay", master, stateDir);
  try {
    await master.until(() => master.summaries.get("w-relay"), 20_000, "worker online");
    const job = qemuJob({
      tests: [inlineTest("relay", ["lava-test-case answer --result pass --measurement 42 --units things"])],
    });
    master.startJob("w-relay", "101", stringify(job), qemuDeviceYaml());
    const end = await master.finished("101", 120_000);
    const record = master.jobs.get("101")!;
    assertEquals([end.result, end.errorType], ["pass", undefined], end.errorMsg);
    assertEquals(record.started, 1);
    assertEquals(record.gaps, 0);
    const results = msgs(record.lines, "results") as Record<string, unknown>[];
    const answer = results.find((r) => r.case === "answer");
    assertEquals([answer?.result, answer?.measurement, answer?.units], ["pass", 42, "things"]);
    assert(results.some((r) => r.definition === "lava" && r.case === "job" && r.result === "pass"));
    assert(msgs(record.lines, "target").some((m) => String(m).includes("Linux version")), "the boot log is relayed");
    assertStringIncludes(end.description ?? "", "pipeline");
    // The job's directory goes once the end is on its way.
    assert(await gone(`${stateDir}/jobs/101`, 5000), "the finished job's directory is removed");
  } finally {
    await worker.stop();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a worker killed mid-job is replaced by one that re-attaches without losing or repeating a line", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  let worker = workerProcess("w-restart", master, stateDir);
  try {
    await master.until(() => master.summaries.get("w-restart"), 20_000, "worker online");
    const steps = ["for i in $(seq 1 40); do echo tick-$i; sleep 0.1; done", "lava-test-case ticked --result pass"];
    master.startJob("w-restart", "102", stringify(qemuJob({ tests: [inlineTest("ticks", steps)] })), qemuDeviceYaml());
    await master.until(
      () => msgs(master.jobs.get("102")?.lines ?? [], "target").some((m) => String(m).includes("tick-5")),
      120_000,
      "the test running",
    );
    worker.kill("SIGKILL");
    await worker.exited;
    await new Promise((r) => setTimeout(r, 1000));
    worker = workerProcess("w-restart", master, stateDir);
    const summary = await master.until(
      () => master.peerEvents.filter((e) => e.type === "online").length >= 2 && master.summaries.get("w-restart"),
      20_000,
      "the new worker online",
    );
    assertEquals(summary.running, ["102"]);
    const end = await master.finished("102", 120_000);
    assertEquals(end.result, "pass", end.errorMsg);
    const record = master.jobs.get("102")!;
    assertEquals(record.gaps, 0);
    const ticks = msgs(record.lines, "target").map(String).filter((m) => /^tick-\d+$/.test(m.trim()));
    assertEquals(ticks.map((t) => t.trim()), Array.from({ length: 40 }, (_, i) => `tick-${i + 1}`));
    const jobResults = (msgs(record.lines, "results") as Record<string, unknown>[]).filter((r) => r.case === "job");
    assertEquals(jobResults.length, 1);
  } finally {
    await worker.stop();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("cancelling a job on a worker stops QEMU and ends the job Canceled", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const worker = workerProcess("w-cancel", master, stateDir);
  try {
    await master.until(() => master.summaries.get("w-cancel"), 20_000, "worker online");
    const job = qemuJob({ tests: [inlineTest("forever", ["sleep 600"])] });
    master.startJob("w-cancel", "103", stringify(job), qemuDeviceYaml());
    await master.until(
      () => msgs(master.jobs.get("103")?.lines ?? [], "target").some((m) => String(m).includes("Linux version")),
      120_000,
      "the device booting",
    );
    master.cancelJob("w-cancel", "103");
    const end = await master.finished("103", 60_000);
    assertEquals([end.result, end.errorType], ["fail", "Canceled"]);
    const qemu = new Deno.Command("pgrep", { args: ["-f", `${stateDir}/jobs/103`] }).outputSync();
    assertEquals(new TextDecoder().decode(qemu.stdout).trim(), "", "nothing of the job is left running");
  } finally {
    await worker.stop();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a dispatcher that ignores SIGTERM is killed after the grace period and the device powered off", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const marker = `${stateDir}/powered-off`;
  const worker = await startWorker({
    name: "w-stubborn",
    masters: [master.endpoint],
    stateDir,
    jobLimit: 1,
    cancelGraceMs: 500,
    environment: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    heartbeatMs: 200,
    logger: createLogger({ process: "w-stubborn", level: "error" }),
    // A dispatcher stuck where SIGTERM cannot reach it (an uninterruptible power script, say).
    dispatchCommand: ["sh", "-c", `trap '' TERM; sleep 600 & wait; wait`, "stubborn-dispatch"],
  });
  try {
    await master.until(() => master.summaries.get("w-stubborn"), 20_000, "worker online");
    const device = `commands:\n  power_off: touch ${marker}\n`;
    master.startJob("w-stubborn", "104", "job: 1\n", device);
    await master.until(() => master.jobs.get("104")?.started, 10_000, "job started");
    master.startJob("w-stubborn", "105", "job: 2\n", device);
    const refused = await master.until(() => master.jobs.get("105")?.refused, 10_000, "second job refused");
    assertStringIncludes(refused, "job limit (1)");
    const started = performance.now();
    master.cancelJob("w-stubborn", "104");
    const end = await master.finished("104", 10_000);
    assert(performance.now() - started >= 500, "SIGKILL waits for the grace period");
    assertEquals([end.result, end.errorType], ["fail", "Canceled"]);
    await Deno.stat(marker);
    const lines = master.jobs.get("104")!.lines.map((l) => String(l.msg));
    assert(lines.some((l) => l.includes("the worker powers the device off")), lines.join("\n"));
    assert(lines.some((l) => l.includes(`touch ${marker}`)), lines.join("\n"));
  } finally {
    await worker.close();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a job past its timeout whose dispatcher cannot act is stopped by the worker and fails as the job's", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const worker = await startWorker({
    name: "w-overdue",
    masters: [master.endpoint],
    stateDir,
    jobLimit: 1,
    cancelGraceMs: 300,
    watchdogMarginMs: 300,
    environment: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    heartbeatMs: 200,
    logger: createLogger({ process: "w-overdue", level: "error" }),
    // A dispatcher whose own job timer cannot fire: blocked, as by a regular expression that backtracks forever.
    dispatchCommand: ["sh", "-c", `trap '' TERM; sleep 600 & wait; wait`, "blocked-dispatch"],
  });
  try {
    await master.until(() => master.summaries.get("w-overdue"), 20_000, "worker online");
    master.startJob("w-overdue", "106", "timeouts:\n  job:\n    seconds: 1\n", "commands: {}\n");
    await master.until(() => master.jobs.get("106")?.started, 10_000, "job started");
    const end = await master.finished("106", 15_000);
    assertEquals([end.result, end.errorType], ["fail", "Job"]);
    assertStringIncludes(String(end.errorMsg), "ran past its timeout");
  } finally {
    await worker.close();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a worker keeps its download cache within --cache-size, least recently used first", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const cache = `${stateDir}/cache`;
  await Deno.mkdir(cache);
  for (const [i, name] of ["oldest", "older", "newest"].entries()) {
    await Deno.writeFile(`${cache}/${name}`, new Uint8Array(600));
    await Deno.writeTextFile(`${cache}/${name}.json`, "{}");
    const when = new Date(Date.now() - (3 - i) * 60_000);
    await Deno.utime(`${cache}/${name}`, when, when);
  }
  const worker = await startWorker({
    name: "w-cache",
    masters: ["tcp://127.0.0.1:1"],
    stateDir,
    jobLimit: 1,
    cancelGraceMs: 300,
    cacheBytes: 1000,
    environment: {},
    logger: createLogger({ process: "w-cache", level: "error" }),
  });
  await worker.close();
  try {
    const left = [...Deno.readDirSync(cache)].map((e) => e.name).sort();
    assertEquals(left, ["newest", "newest.json"]);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a dispatcher's oversized error message and description do not lose the job's end", async () => {
  const master = await MasterPeer.start();
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-worker-" });
  const script = [
    'while [ $# -gt 0 ]; do [ "$1" = --output-dir ] && out=$2; shift; done',
    'mkdir -p "$out"',
    "head -c 5000000 /dev/zero | tr '\\0' x > \"$out/description.yaml\"",
    "printf 'result: fail\\nerror_type: Job\\nerror_msg: ' > \"$out/result.yaml\"",
    "head -c 5000000 /dev/zero | tr '\\0' y >> \"$out/result.yaml\"",
  ].join("\n");
  const worker = await startWorker({
    name: "w-loud",
    masters: [master.endpoint],
    stateDir,
    jobLimit: 1,
    cancelGraceMs: 300,
    environment: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    heartbeatMs: 200,
    logger: createLogger({ process: "w-loud", level: "error" }),
    dispatchCommand: ["sh", "-c", script, "loud-dispatch"],
  });
  try {
    await master.until(() => master.summaries.get("w-loud"), 20_000, "worker online");
    master.startJob("w-loud", "107", "job: 1\n", "commands: {}\n");
    const end = await master.finished("107", 15_000);
    assertEquals([end.result, end.errorType, end.description], ["fail", "Job", undefined]);
    assert(String(end.errorMsg).length < 20_000, `an error message of ${String(end.errorMsg).length} characters`);
    assertStringIncludes(String(end.errorMsg), "cut at");
  } finally {
    await worker.close();
    await master.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
