/**
 * Debian's real `lava-worker` and `lava-run` (LAVA 2023.01, package
 * lava-dispatcher) joined to a real Basalt master on 127.0.0.1 through LAVA's
 * HTTP worker API, on the QEMU DUT: a job submitted with lavacli runs through
 * lava-run (Running, its log live on the web UI's stream, results stored,
 * Complete), a cancel reaches it, the worker restarted mid-job leaves the
 * job's record whole, and what a worker must not do is refused with LAVA's
 * codes. One lab and one worker for all of it.
 */
import { parse } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import {
  lavaQemuJob,
  lavaWorkerInstalled,
  processesOf,
  startLavaWorker,
  stopLavaWorker,
} from "./support/lava_worker.ts";
import { readSse } from "./support/master_client.ts";
import type { TestProcess } from "./support/process.ts";
import { eventually } from "./support/wait.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TOKEN = "lava-worker-token-0123456789abcdef";
/** lava-run posts its log every 5 s by default (an admin's setting, like this): short jobs would send it all at the end. */
const LOG_EVERY_SECOND = ["--job-log-interval", "1"];

function cannotRun(): string | undefined {
  if (!lavaWorkerInstalled()) return "Debian's lava-dispatcher is not installed (deno task setup test installs it)";
  if (Deno.uid() !== 0) return "lava-run runs only as root";
}

async function lavacli(lab: TestLab, dir: string, ...args: string[]) {
  const uri = `${lab.master.url.replace("http://", `http://admin:${lab.token}@`)}/RPC2`;
  const output = await new Deno.Command("lavacli", {
    args: ["--uri", uri, ...args],
    cwd: ROOT,
    env: { XDG_CONFIG_HOME: dir, NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1", PATH: Deno.env.get("PATH") ?? "" },
    stdin: "null",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

async function submit(lab: TestLab, dir: string, name: string, yaml: string): Promise<string> {
  const file = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(file, yaml);
  const submitted = await lavacli(lab, dir, "jobs", "submit", file);
  assertEquals(submitted.code, 0, submitted.stderr);
  return submitted.stdout.trim();
}

/** Waits until the job's stored log has a line mentioning `text` (the DUT reached that command). */
async function logShows(lab: TestLab, id: string, text: string): Promise<void> {
  await eventually(`job ${id}'s log showing ${text}`, async () => {
    const log = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
    return log.body.lines.some((l) => String(l.msg).includes(text));
  }, 60_000);
}

/** Reads the web UI's live log stream of a job to its end: each `lines` event with when it arrived. */
async function followLog(
  lab: TestLab,
  id: string,
): Promise<{ at: number; lines: { line: number; lvl: string; msg: unknown }[] }[]> {
  const batches: { at: number; lines: { line: number; lvl: string; msg: unknown }[] }[] = [];
  await readSse(`${lab.master.url}/api/v1/jobs/${id}/logs/stream`, lab.token, (event, data) => {
    if (event === "lines") batches.push({ at: Date.now(), lines: JSON.parse(data) });
    if (event === "end") return false;
  });
  return batches;
}

const skipped = cannotRun();
Deno.test({
  name: `LAVA's own lava-worker runs jobs for a Basalt master${skipped ? ` [skipped: ${skipped}]` : ""}`,
  ignore: skipped !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const lab = await startTestLab();
  const dir = await Deno.makeTempDir({ prefix: "basalt-lava-worker-" });
  const workerDir = `${dir}/worker`;
  let worker: TestProcess | undefined;
  try {
    await lab.addLavaWorker("lava-w1", TOKEN);
    await lab.addDevice("qemu-lava", "qemu", "lava-w1", QEMU_DICTIONARY);
    const startWorker = () =>
      startLavaWorker({
        name: "lava-w1",
        url: lab.master.url,
        token: TOKEN,
        dir: workerDir,
        extraArgs: LOG_EVERY_SECOND,
      });
    worker = startWorker();
    await eventually("lava-w1 online", () => lab.master.lab.workerStatus("lava-w1")?.state === "Online", 30_000);
    assertStringIncludes(lab.master.lab.workerStatus("lava-w1")?.version ?? "", "2023.01");

    await t.step("a job submitted with lavacli runs through lava-run, its log live, its results stored", async () => {
      const submittedAt = Date.now();
      const id = await submit(
        lab,
        dir,
        "complete",
        lavaQemuJob("lava-run on the QEMU DUT", [
          { name: "kernel", command: "uname -s", expect: "Linux" },
          { name: "echo", command: "sleep 3; echo ab''cd", expect: "abcd" },
        ]),
      );
      const streamed = followLog(lab, id);
      await waitForJob(lab, id, (d) => d.state === "Running", 60_000);
      const runningAt = Date.now();
      const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 180_000);
      const finishedAt = Date.now();
      const batches = await streamed;
      assertEquals(finished.health, "Complete", JSON.stringify(finished));
      // Live: lines reached the web UI's stream while the job ran, not only once it had ended.
      assert(
        batches.some((b) => b.at < finishedAt - 1000),
        `log lines arrived before the job ended: ${batches.map((b) => `${b.lines.length}@${finishedAt - b.at}ms`)}`,
      );
      const lines = batches.flatMap((b) => b.lines);
      assertEquals(lines.map((l) => l.line), lines.map((_, i) => i), "every line once, in order");
      assert(lines.some((l) => l.lvl === "target" && String(l.msg).includes("Linux version")), "the kernel booted");
      assert(lines.some((l) => String(l.msg).includes("lava-dispatcher, installed at version: 2023.01")));
      const results = await lavacli(lab, dir, "results", id, "--yaml");
      assertEquals(results.code, 0, results.stderr);
      const cases = (parse(results.stdout) as { suite: string; name: string; result: string }[])
        .map((r) => `${r.suite}/${r.name}=${r.result}`);
      for (
        const expected of ["0_probe/kernel=pass", "0_probe/echo=pass", "lava/job=pass", "lava/execute-qemu=pass"]
      ) {
        assert(
          cases.some((c) => c.startsWith(expected.split("=")[0]) && c.endsWith(expected.split("=")[1])),
          `${expected} in ${cases}`,
        );
      }
      console.log(
        `lava-worker job ${id}: submit→Running ${runningAt - submittedAt} ms, whole job ${finishedAt - submittedAt} ms`,
      );
    });

    await t.step("a cancel reaches lava-run, which stops; the job ends Canceled", async () => {
      const id = await submit(
        lab,
        dir,
        "cancel",
        lavaQemuJob("cancelled", [{ name: "wait", command: "sleep 120", expect: "never printed" }], 150),
      );
      await waitForJob(lab, id, (d) => d.state === "Running", 60_000);
      // Cancelled while the test runs on the booted DUT, not while lava-run is still starting.
      await logShows(lab, id, "sleep 120");
      // A malformed log batch with the job's own token (from the worker's ping) is refused, naming the record.
      const ping = await fetch(`${lab.master.url}/scheduler/internal/v1/workers/lava-w1/?version=2023.01`, {
        headers: { "LAVA-Token": TOKEN },
      });
      const running = (await ping.json()).running as { id: number; token: string }[];
      const jobToken = running.find((j) => String(j.id) === id)!.token;
      const bad = await fetch(`${lab.master.url}/scheduler/internal/v1/jobs/${id}/logs/`, {
        method: "POST",
        headers: { "LAVA-Token": jobToken },
        body: new URLSearchParams({
          lines: '- {"dt": "2026-01-01T00:00:00", "lvl": "info", "msg": "ok"}\n- {"dt": [',
          index: "100000",
        }),
      });
      const refusal = await bad.json();
      assertEquals(bad.status, 400);
      assertStringIncludes(refusal.error, "Invalid 'lines': record 100001: not YAML");
      const cancelled = await lavacli(lab, dir, "jobs", "cancel", id);
      assertEquals(cancelled.code, 0, cancelled.stderr);
      const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 60_000);
      assertEquals(finished.health, "Canceled");
      // lava-run itself was stopped: its signal handler logged the cancel and it cleaned up.
      const log = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
      assert(
        log.body.lines.some((l) => String(l.msg).includes("The job was canceled")),
        `lava-run logged the cancel: ${JSON.stringify(finished)} ${JSON.stringify(log.body.lines.slice(-5))}`,
      );
      await eventually("only lava-worker left running", () => processesOf(workerDir).length === 1, 20_000);
    });

    await t.step("lava-worker restarted mid-job: lava-run goes on and the job's record is whole", async () => {
      const id = await submit(
        lab,
        dir,
        "restart",
        lavaQemuJob("worker restarted", [
          { name: "pause", command: "sleep 4; echo slept", expect: "slept" },
        ]),
      );
      await waitForJob(lab, id, (d) => d.state === "Running", 60_000);
      Deno.kill(worker!.pid, "SIGKILL");
      await worker!.exited;
      worker = startWorker();
      const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 180_000);
      assertEquals(finished.health, "Complete", JSON.stringify(finished));
      const log = await lab.api<{ lines: { line: number }[] }>("GET", `/api/v1/jobs/${id}/logs`);
      assertEquals(log.body.lines.map((l) => l.line), log.body.lines.map((_, i) => i), "no line lost or repeated");
    });

    await t.step(
      "the master restarted mid-job: lava-run's log waits, then goes on, nothing lost or repeated",
      async () => {
        const id = await submit(
          lab,
          dir,
          "master-restart",
          lavaQemuJob("master restarted", [
            { name: "pause", command: "sleep 6; echo slept", expect: "slept" },
          ]),
        );
        await logShows(lab, id, "sleep 6");
        await lab.restartMaster();
        const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 120_000);
        assertEquals(finished.health, "Complete", JSON.stringify(finished));
        const log = await lab.api<{ lines: { line: number; msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
        assertEquals(log.body.lines.map((l) => l.line), log.body.lines.map((_, i) => i), "no line lost or repeated");
        assert(log.body.lines.some((l) => l.msg === "slept"), "the lines printed while the master was down are stored");
      },
    );

    await t.step("what a worker must not do is refused with LAVA's status codes, and logged", async () => {
      const base = `${lab.master.url}/scheduler/internal/v1`;
      const call = async (path: string, init: RequestInit = {}) => {
        const response = await fetch(`${base}${path}`, init);
        return { status: response.status, body: await response.json() };
      };
      const form = (fields: Record<string, string>) => ({ method: "POST", body: new URLSearchParams(fields) });
      assertEquals(await call("/workers/nobody/?version=2023.01", { headers: { "LAVA-Token": TOKEN } }), {
        status: 404,
        body: { error: "Unknown worker 'nobody'" },
      });
      assertEquals((await call("/workers/lava-w1/?version=2023.01")).body, { error: "Missing 'token'" });
      assertEquals(await call("/workers/lava-w1/?version=2023.01", { headers: { "LAVA-Token": "wrong" } }), {
        status: 400,
        body: { error: "Invalid 'token'" },
      });
      // A worker older than the HTTP API is refused as LAVA refuses a version mismatch (and set Offline).
      await lab.addLavaWorker("lava-old", `${TOKEN}-old`);
      assertEquals(await call("/workers/lava-old/?version=2019.01", { headers: { "LAVA-Token": `${TOKEN}-old` } }), {
        status: 409,
        body: { error: "Version mismatch '2019.01' vs '2020.09 or later'" },
      });
      assertEquals(lab.master.lab.workerStatus("lava-old")?.state, "Offline");
      assertEquals((await call("/jobs/999999/", { headers: { "LAVA-Token": "x" } })).status, 404);
      assertEquals(await call("/jobs/1/", { headers: { "LAVA-Token": "not-the-job-token" } }), {
        status: 400,
        body: { error: "Invalid 'token'" },
      });
      assertEquals(
        (await call("/jobs/1/logs/", { ...form({ lines: "- {}", index: "0" }), headers: { "LAVA-Token": "x" } }))
          .status,
        400,
      );
      assertEquals((await call("/workers/lava-w1/", form({ name: "x" }))).status, 403);
      // A lava-worker started with no token registers itself, as against LAVA's server, and keeps its token.
      const autoDir = `${dir}/auto`;
      const auto = startLavaWorker({ name: "lava-auto", url: lab.master.url, dir: autoDir });
      try {
        await eventually(
          "lava-auto online",
          () => lab.master.lab.workerStatus("lava-auto")?.state === "Online",
          30_000,
        );
        assertEquals((await Deno.readTextFile(`${autoDir}/token`)).length, 32);
      } finally {
        await stopLavaWorker(auto, autoDir);
      }
      // None of it disturbed the real worker.
      assertEquals(lab.master.lab.workerStatus("lava-w1")?.state, "Online");
    });
  } finally {
    await stopLavaWorker(worker, workerDir);
    await lab.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
