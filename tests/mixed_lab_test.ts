/**
 * A lab half-way from LAVA to Basalt: one Basalt worker and one of LAVA's own
 * (Debian's lava-worker and lava-run) under one Basalt master. Jobs for both
 * device types run at once, and a MultiNode job puts one node on each: the
 * Basalt node's test shell sends with `lava-send`, and the LAVA node's
 * protocol call in its boot action receives it with `lava-wait`, through
 * Basalt's coordinator.
 */
import { stringify } from "yaml";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import { lavaQemuJob, lavaWorkerInstalled, startLavaWorker, stopLavaWorker } from "./support/lava_worker.ts";
import { TestProcess } from "./support/process.ts";
import { eventually } from "./support/wait.ts";

const TOKEN = "mixed-lab-lava-worker-token-0123";
const COORDINATOR_CONF = "/etc/lava-coordinator";

function cannotRun(): string | undefined {
  if (!lavaWorkerInstalled()) return "Debian's lava-dispatcher is not installed (deno task setup test installs it)";
  if (Deno.uid() !== 0) return "lava-run runs only as root, and its coordinator settings are mounted for it";
}

async function submit(lab: TestLab, definition: string): Promise<string[]> {
  const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition });
  assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
  return submitted.body.job_ids.map(String);
}

async function resultsOf(lab: TestLab, id: string): Promise<string[]> {
  const results = await lab.api<{ results: { suite: string; name: string; result: string }[] }>(
    "GET",
    `/api/v1/jobs/${id}/results`,
  );
  return results.body.results.map((r) => `${r.suite}/${r.name}=${r.result}`);
}

/**
 * The LAVA node's MultiNode sub-job reaches the coordinator named in `/etc/lava-coordinator/lava-coordinator.conf`
 * on its worker, as in a LAVA lab: lava-worker runs in a mount namespace of its own where that file says where
 * Basalt's coordinator listens.
 */
async function lavaWorkerWithCoordinator(dir: string, url: string, port: number): Promise<{
  worker: TestProcess;
  cleanUp: () => Promise<void>;
}> {
  let created = false;
  try {
    await Deno.stat(COORDINATOR_CONF);
  } catch {
    await Deno.mkdir(COORDINATOR_CONF);
    created = true;
  }
  await Deno.mkdir(`${dir}/coordinator-conf`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/coordinator-conf/lava-coordinator.conf`,
    JSON.stringify({ port, blocksize: 4096, poll_delay: 1, coordinator_hostname: "127.0.0.1" }),
  );
  const worker = startLavaWorker({
    name: "lava-w1",
    url,
    token: TOKEN,
    dir: `${dir}/worker`,
    extraArgs: ["--job-log-interval", "1"],
    wrap: [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount --bind "$0" ${COORDINATOR_CONF} && exec "$@"`,
      `${dir}/coordinator-conf`,
    ],
  });
  return {
    worker,
    cleanUp: async () => {
      await stopLavaWorker(worker, `${dir}/worker`);
      if (created) await Deno.remove(COORDINATOR_CONF).catch(() => {});
    },
  };
}

const skipped = cannotRun();
Deno.test({
  name: `a Basalt worker and a LAVA worker share one lab, and a MultiNode job${
    skipped ? ` [skipped: ${skipped}]` : ""
  }`,
  ignore: skipped !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-mixed-" });
  const coordinator = TestProcess.deno("coordinator", "coordinator/main.ts", [
    "--port",
    "0",
    "--state-dir",
    `${dir}/coordinator`,
    "--log-level",
    "error",
  ]);
  const ready = await coordinator.waitForEvent("ready", 30_000);
  const port = Number(ready.port);
  const lab = await startTestLab({ coordinator: { host: "127.0.0.1", port } });
  let lava: { worker: TestProcess; cleanUp: () => Promise<void> } | undefined;
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu-basalt-01", "qemu-basalt", "w1", QEMU_DICTIONARY);
    await lab.addLavaWorker("lava-w1", TOKEN);
    await lab.addDevice("qemu-lava-01", "qemu-lava", "lava-w1", QEMU_DICTIONARY);
    lava = await lavaWorkerWithCoordinator(dir, lab.master.url, port);
    await eventually("lava-w1 online", () => lab.master.lab.workerStatus("lava-w1")?.state === "Online", 30_000);

    await t.step("jobs for both device types run at once, each by its own kind of worker", async () => {
      const basaltJob = qemuJob({
        name: "on the Basalt worker",
        tests: [inlineTest("basalt-side", ["lava-test-case shell --shell true"])],
      });
      basaltJob.device_type = "qemu-basalt";
      const [onBasalt] = await submit(lab, stringify(basaltJob));
      const [onLava] = await submit(
        lab,
        lavaQemuJob("on the LAVA worker").replace("device_type: qemu", "device_type: qemu-lava"),
      );
      const both = await Promise.all(
        [onBasalt, onLava].map((id) => waitForJob(lab, id, (d) => d.state === "Running", 60_000)),
      );
      assertEquals(both.map((d) => d.worker), ["w1", "lava-w1"]);
      const ended = await Promise.all(
        [onBasalt, onLava].map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 180_000)),
      );
      assertEquals(ended.map((d) => d.health), ["Complete", "Complete"], JSON.stringify(ended));
      assert((await resultsOf(lab, onBasalt)).includes("0_basalt-side/shell=pass"));
      assert((await resultsOf(lab, onLava)).includes("0_probe/kernel=pass"));
    });

    await t.step(
      "a MultiNode job with one node on each worker passes a message through the coordinator",
      async () => {
        const base = qemuJob({});
        const [deploy, boot] = base.actions as Record<string, Record<string, unknown>>[];
        const job = {
          job_name: "one node on each kind of worker",
          timeouts: base.timeouts,
          visibility: "public",
          protocols: {
            "lava-multinode": {
              roles: {
                basalt: { device_type: "qemu-basalt", count: 1 },
                // lava-run's QEMU boot wants the architecture from its (sub-)job's context.
                lava: { device_type: "qemu-lava", count: 1, context: { arch: "amd64" } },
              },
              timeout: { minutes: 3 },
            },
          },
          actions: [
            { deploy: { ...deploy.deploy, role: ["basalt", "lava"] } },
            { boot: { ...boot.boot, role: ["basalt"] } },
            {
              boot: {
                ...boot.boot,
                role: ["lava"],
                // lava-run makes the call itself before it boots its device, and keeps what the Basalt node sent.
                protocols: {
                  "lava-multinode": [{
                    action: "boot-image-retry",
                    request: "lava-wait",
                    messageID: "ready",
                    message: { ipaddr: "$ipaddr" },
                  }],
                },
              },
            },
            {
              test: {
                role: ["basalt"],
                timeout: { minutes: 3 },
                definitions: [
                  inlineTest("meet", ["lava-send ready ipaddr=10.0.0.7", "lava-test-case sent --shell true"]),
                ],
              },
            },
            {
              test: {
                role: ["lava"],
                timeout: { minutes: 2 },
                interactive: [{
                  name: "after",
                  prompts: ["/ # "],
                  script: [{ name: "booted", command: "uname -s", successes: [{ message: "Linux" }] }],
                }],
              },
            },
          ],
        };
        const ids = await submit(lab, stringify(job));
        assertEquals(ids.length, 2);
        const ended = await Promise.all(ids.map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 240_000)));
        if (ended.some((d) => d.health !== "Complete")) {
          const logs = await Promise.all(
            ids.map((id) => lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`)),
          );
          const shown = await Promise.all(ids.map((id) => lab.api("GET", `/api/v1/jobs/${id}`)));
          throw new Error(
            `${JSON.stringify(shown.map((s) => s.body))}\n${
              logs.map((l) => JSON.stringify(l.body.lines?.slice(-25))).join("\n")
            }`,
          );
        }
        const results = (await Promise.all(ids.map((id) => resultsOf(lab, id)))).flat();
        assert(results.includes("0_meet/sent=pass"), results.join(" "));
        const lavaLog = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${ids[1]}/logs`);
        assert(
          lavaLog.body.lines.some((l) => /Setting namespace data key ready to .*10\.0\.0\.7/.test(String(l.msg))),
          "lava-run received what the Basalt node sent",
        );
        assert(results.includes("0_after/booted=pass"), results.join(" "));
      },
    );
  } finally {
    await lava?.cleanUp();
    await lab.close();
    Deno.kill(coordinator.pid, "SIGTERM");
    await coordinator.exited;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
