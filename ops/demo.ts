/**
 * `deno task demo [--data-dir ./data] [--port 8000] [--until-done]`: a whole lab
 * on this machine, on the embedded database — the coordinator, the master with
 * its web UI, a worker, two QEMU devices and a simulated U-Boot board behind
 * ser2net, each with a health check — then a sample job and a two-node
 * MultiNode job, and the URL and an admin token to look at them. Ctrl-C stops
 * everything it started. `--until-done` stops once both jobs have finished
 * (exit 0 when both passed), which is how the tests run it.
 *
 * It starts with the set-up step (ops/setup.ts), which installs what the lab
 * needs and builds the QEMU device image, saying so as it goes. Without QEMU (only
 * with BASALT_NO_INSTALL) the lab runs with the simulated board alone.
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { join, resolve } from "../actors/path.ts";
import { stringify } from "yaml";
import { openStorage } from "../master/storage/database.ts";
import { addUser, findUser, issueToken } from "../master/storage/users.ts";
import { SimulatedBoard } from "../worker/sim/lab_board.ts";
import { killProcessesUnder } from "../worker/system/processes.ts";
import { signalChild } from "../actors/process/signal_child.ts";
import { type DutFile, PATHS, setUp, SetupError, type Step } from "./setup.ts";
import { bootFiles, firmwareHealthChecks, inlineTest, qemuJobFor, qemuMultinodeJob, ubootJob } from "./dut_jobs.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function say(text: string): void {
  console.log(`demo: ${text}`);
}

interface Child {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly lines: AsyncIterator<string>;
}

function start(name: string, file: string, args: string[], logDir: string): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, file), ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Each process's structured log goes to its own file; stdout is read for its "ready" line.
  const log = Deno.openSync(join(logDir, `${name}.log`), { create: true, append: true, write: true });
  child.stderr.pipeTo(log.writable).catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .values();
  return { name, child, lines: lines as AsyncIterator<string> };
}

async function ready(process: Child, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const timer = setTimeout(() => process.child.kill("SIGKILL"), timeoutMs);
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await process.lines.next();
      if (done) throw new Error(`${process.name} stopped before it was ready; see its log`);
      buffer += value;
      for (const line of buffer.split("\n")) {
        try {
          const event = JSON.parse(line);
          if (event.event === "ready") return event;
        } catch { /* not JSON yet */ }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The jobs' end healths, heard on the lab's event stream. */
async function finished(
  url: string,
  jobs: string[],
  api: (method: string, path: string) => Promise<Record<string, unknown>>,
): Promise<string[]> {
  const healths = new Map<string, string>();
  const source = new EventSource(`${url}/api/v1/events`);
  const done = new Promise<void>((resolve) => {
    source.addEventListener("testjob", (e) => {
      const data = JSON.parse((e as MessageEvent).data).data;
      if (jobs.includes(String(data.job)) && data.state === "Finished") healths.set(String(data.job), data.health);
      if (healths.size === jobs.length) resolve();
    });
  });
  await new Promise<void>((resolve) => source.addEventListener("open", () => resolve(), { once: true }));
  // Jobs that ended before the stream opened.
  for (const id of jobs) {
    const job = await api("GET", `/api/v1/jobs/${id}`);
    if (job.state === "Finished") healths.set(id, String(job.health));
  }
  if (healths.size < jobs.length) await done;
  source.close();
  return jobs.map((id) => healths.get(id)!);
}

async function stopAll(children: Child[], board?: SimulatedBoard, workerDir?: string): Promise<void> {
  for (const { child } of [...children].reverse()) signalChild(child, "SIGTERM");
  await Promise.all(children.map(async ({ child }) => {
    const timer = setTimeout(() => signalChild(child, "SIGKILL"), 10_000);
    await child.status;
    clearTimeout(timer);
  }));
  // Dispatchers outlive their worker by design (a restarted worker re-attaches to them): a job or health check still
  // running at Ctrl-C would otherwise stay, with its QEMU.
  if (workerDir) await killProcessesUnder(workerDir);
  await board?.stop();
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "data-dir": { type: "string", default: "data" },
      port: { type: "string", default: "8000" },
      "until-done": { type: "boolean" },
    },
  });
  let undone: readonly Step[];
  try {
    undone = await setUp("demo");
  } catch (error) {
    say(error instanceof SetupError ? error.message : `set-up failed: ${error}`);
    Deno.exit(1);
  }
  // Only with BASALT_NO_INSTALL is anything left undone; the set-up has listed it already.
  const lacking = new Set(undone.flatMap((step) => step.kind === "packages" ? step.packages : []));
  const dataDir = resolve(values["data-dir"]);
  const logDir = join(dataDir, "logs");
  await Deno.mkdir(logDir, { recursive: true });
  // mkimage gives the simulated board's ramdisks their U-Boot header, as on every LAVA U-Boot device.
  const needed = ["socat", "ser2net", "u-boot-tools", "libzmq5"].filter((p) => lacking.has(p));
  if (needed.length > 0) {
    say(`the lab cannot start without ${needed.join(", ")}`);
    Deno.exit(1);
  }
  const withQemu = !lacking.has("qemu-system-x86") && !undone.some((step) => step.kind === "device-image");
  if (!withQemu) say("without QEMU or its device image, the lab runs with the simulated board alone");
  const dut = withQemu ? PATHS.dutDir : undefined;
  const file = (name: DutFile) => join(dut!, name);
  const board = await SimulatedBoard.start({ tickMs: 100, autoboot: 1 });
  const children: Child[] = [];
  const workerDir = join(dataDir, "worker-demo-worker");
  // A terminal's Ctrl-C reaches this process twice (from the terminal, and passed on by `deno task`) and every
  // child directly: the lab is stopped once, whichever signal comes first.
  let stopping: Promise<never> | undefined;
  const stop = (code: number) =>
    stopping ??= (async () => {
      say("stopping the lab");
      await stopAll(children, board, workerDir);
      Deno.exit(code);
    })();
  Deno.addSignalListener("SIGINT", () => void stop(130));
  Deno.addSignalListener("SIGTERM", () => void stop(143));

  try {
    // The lab's configuration, written before the master opens the database.
    const storage = await openStorage({ kind: "pglite", dataDir });
    const db = storage.db;
    if (!(await findUser(db, "admin"))) await addUser(db, { username: "admin", superuser: true });
    const { token } = await issueToken(db, "admin", `deno task demo ${new Date().toISOString()}`);
    await db.insertInto("workers").values({ hostname: "demo-worker", description: "this machine" })
      .onConflict((oc) => oc.doNothing()).execute();
    const devices: { hostname: string; type: string; dictionary: string }[] = [
      { hostname: "board01", type: "sim-uboot-board", dictionary: board.dictionary() },
    ];
    if (dut) {
      for (const hostname of ["qemu01", "qemu02"]) {
        devices.push({ hostname, type: "qemu", dictionary: "{% extends 'qemu.jinja2' %}\n{% set memory = 256 %}\n" });
      }
    }
    for (const type of new Set(devices.map((d) => d.type))) {
      await db.insertInto("device_types").values({ name: type }).onConflict((oc) => oc.doNothing()).execute();
    }
    for (const d of devices) {
      // The board's port changes with each run: its dictionary is rewritten every time.
      await db.insertInto("devices").values({
        hostname: d.hostname,
        device_type: d.type,
        worker_hostname: "demo-worker",
        dictionary: d.dictionary,
        health: 1, // Unknown: each device runs its health check first, as in LAVA
      }).onConflict((oc) => oc.column("hostname").doUpdateSet({ dictionary: d.dictionary })).execute();
    }
    await storage.close();
    const labDir = join(dataDir, "lab");
    await Deno.mkdir(join(labDir, "health-checks"), { recursive: true });
    const files = await bootFiles(join(dataDir, "board-files"));
    await Deno.writeTextFile(
      join(labDir, "health-checks", "sim-uboot-board.yaml"),
      stringify(ubootJob(files, 1, [inlineTest("board-health", ["lava-test-case shell --shell true"])])),
    );
    if (dut) {
      // The firmware device types' health checks too, for an admin who adds such a board to this lab.
      for (const [type, job] of Object.entries(firmwareHealthChecks(file))) {
        await Deno.writeTextFile(join(labDir, "health-checks", `${type}.yaml`), stringify(job));
      }
      await Deno.writeTextFile(
        join(labDir, "health-checks", "qemu.yaml"),
        stringify(
          qemuJobFor(file, {
            name: "qemu health check",
            tests: [inlineTest("health", ["lava-test-case kernel --shell uname -r"])],
          }),
        ),
      );
    }

    children.push(
      start(
        "coordinator",
        "coordinator/main.ts",
        ["--port", "3079", "--state-dir", join(dataDir, "coordinator")],
        logDir,
      ),
    );
    await ready(children[0]);
    children.push(start("master", "master/main.ts", [
      "--data-dir",
      dataDir,
      "--http",
      `127.0.0.1:${values.port}`,
      "--coordinator",
      "127.0.0.1:3079",
    ], logDir));
    const master = await ready(children[1]);
    children.push(start("worker", "worker/main.ts", [
      "--name",
      "demo-worker",
      "--master",
      String(master.zmq),
      "--state-dir",
      workerDir,
      // The jobs' file:// images: the QEMU device's and the simulated board's.
      "--file-dirs",
      [dut, join(dataDir, "board-files")].filter((d) => d !== undefined).join(","),
    ], logDir));
    const url = String(master.http);
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Token ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return await response.json();
    };

    const jobs: string[] = [];
    const sample = dut
      ? qemuJobFor(file, {
        name: "demo: smoke test on QEMU",
        tests: [inlineTest("smoke", [
          "lava-test-case kernel --shell uname -a",
          "lava-test-case busybox --shell busybox --help",
          "lava-test-case memory --result pass --measurement $(awk '/MemTotal/ {print $2}' /proc/meminfo) --units kB",
        ])],
      })
      : ubootJob(files, 1, [
        inlineTest("smoke", ["lava-test-case shell --shell true", "lava-test-case uname --shell uname -s"]),
      ]);
    jobs.push(...(await api("POST", "/api/v1/jobs", { definition: stringify(sample) })).job_ids);
    if (dut) {
      const multinode = qemuMultinodeJob(file, {
        name: "demo: two QEMU devices talking",
        timeoutMinutes: 3,
        roles: {
          server: { deviceType: "qemu", steps: ["lava-send ready port=8080", "lava-sync done"] },
          client: {
            deviceType: "qemu",
            steps: [
              "lava-wait ready",
              "lava-test-case got-port --shell grep -q port=8080 /tmp/lava_multi_node_cache.txt",
              "lava-sync done",
            ],
          },
        },
      });
      jobs.push(...(await api("POST", "/api/v1/jobs", { definition: stringify(multinode) })).job_ids);
    }

    console.log(`
Basalt is running.

  Web UI      ${url}/   (log in as admin with the token below)
  Admin token ${token}
  Jobs        ${jobs.map((j) => `${url}/jobs/${j}`).join("\n              ")}

  lavacli --uri ${url.replace("http://", `http://admin:${token}@`)}/RPC2 jobs list
  BASALT_TOKEN=${token} deno task cli jobs logs --follow ${jobs[0]}

Logs of the lab's processes are in ${logDir}. Ctrl-C stops everything.
`);
    if (values["until-done"]) {
      const results = await finished(url, jobs, api);
      say(`jobs finished: ${jobs.map((j, i) => `${j} ${results[i]}`).join(", ")}`);
      await stop(results.every((h) => h === "Complete") ? 0 : 1);
    }
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : error}`);
    await stop(1);
  }
}
