/**
 * A lab at scale, soaked: a whole lab in separate processes — the master, the
 * coordinator, W workers (`deno task worker`, each starting one dispatch
 * process per job, bundled as the packages ship it) and N simulated devices
 * (bench/soak/devices.ts, consoles on TCP ports) — fed a steady stream of J
 * jobs (single jobs, MultiNode pairs, jobs cancelled while they run, jobs whose
 * test raises) while 20 clients follow running jobs' logs live and 5 follow
 * the event stream. It reports what the lab itself costs and how it holds:
 *
 * - jobs per minute completed;
 * - CPU seconds per job of the master, the workers and the dispatch processes
 *   (read from /proc: the workers reap their dispatchers, so theirs is the
 *   workers' children's time) — the devices are in this process, not counted;
 * - p50/p99 of submit → Running, dispatch end → Finished, and a device's line
 *   (stamped when printed) → a live log follower;
 * - master and worker RSS every 10 s, and its slope after the first fifth;
 * - database bytes per job; the scheduling pass p99 at the longest queue;
 * - every line every job printed, checked stored once and in order.
 *
 * Then the same trivial job, dispatched alone on a soak device, by Basalt's
 * dispatcher and by LAVA's `lava-run` (Debian's lava-dispatcher), CPU and wall.
 *
 *   deno task bench soak [--devices 200] [--workers 4] [--jobs 2000] [--rate 2] [--lines 40] [--line-ms 50]
 *       [--followers 20] [--subscribers 5] [--db pglite|postgres] [--hours H] [--from-source]
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { join } from "../actors/path.ts";
import { bundle } from "../ops/bundle.ts";
import { bootFiles } from "../ops/dut_jobs.ts";
import { childrenCpuMs, cpuMs, rssMiB } from "../tests/support/proc_usage.ts";
import { MasterClient, readSse } from "../tests/support/master_client.ts";
import { TestProcess } from "../tests/support/process.ts";
import { type Cluster, startCluster } from "../tests/support/postgres.ts";
import { SOAK_LINE, type SoakBehaviour, SoakDevices } from "./soak/devices.ts";
import { type Kind, kindOf, soakJob } from "./soak/jobs.ts";
import { formatSoak, slopePerHour, type SoakResult, stats } from "./soak/report.ts";
import { standaloneRuns } from "./soak/standalone.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export interface SoakOptions {
  readonly devices: number;
  readonly workers: number;
  readonly jobs: number;
  /** Submissions per second. */
  readonly rate: number;
  readonly lines: number;
  readonly lineMs: number;
  readonly db: "pglite" | "postgres";
  /** Keep submitting for this long instead of `jobs` (the long variant). */
  readonly hours?: number;
  /** Run the dispatcher from its TypeScript source instead of the bundle the packages ship. */
  readonly fromSource?: boolean;
  readonly followers: number;
  readonly subscribers: number;
  /** Also time standalone dispatches by Basalt and by lava-run. */
  readonly standalone: boolean;
}

export const SOAK_DEFAULTS: SoakOptions = {
  devices: 200,
  workers: 4,
  jobs: 2000,
  rate: 2,
  lines: 40,
  lineMs: 50,
  db: "pglite",
  followers: 20,
  subscribers: 5,
  standalone: true,
};

interface Tracked {
  readonly display: string;
  readonly kind: Kind;
  submittedAt: number;
  /** The wall clock at submission (ms since the epoch), to set against the lab's own start_time. */
  submittedWall: number;
  /** When the lab made the job Running: its start_time (ms since the epoch). */
  startedWall?: number;
  /** When the first event subscriber heard it Running. */
  runningAt?: number;
  finishedAt?: number;
  health?: string;
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  return text;
}

async function directorySize(dir: string): Promise<number> {
  return Number((await run("du", ["-sb", dir])).split("\t")[0]);
}

/** Progress on stderr: a soak runs for minutes. */
const progress = (text: string) => console.error(`soak: ${text}`);

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-soak-" });
  const images = join(dir, "images");
  const files = await bootFiles(images);
  const labDir = join(dir, "lab");
  await Deno.mkdir(join(labDir, "device-types"), { recursive: true });
  await Deno.copyFile(new URL("./soak/soak.jinja2", import.meta.url), join(labDir, "device-types", "soak.jinja2"));
  const behaviours = new Map<number, SoakBehaviour>();
  const normal: SoakBehaviour = { lines: options.lines, lineMs: options.lineMs };
  const devices = SoakDevices.start(options.devices, (job) => behaviours.get(job) ?? normal);
  const processes: TestProcess[] = [];
  let stopping = false;
  let labFailure: string | undefined;
  // Resolved when every job has ended, after a settling time, or when a process of the lab dies.
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => allDone = resolve);
  // A process of the lab that dies ends the soak saying why, rather than leaving it to wait for jobs that cannot end.
  const supervise = (p: TestProcess) => {
    processes.push(p);
    p.exited.then((status) => {
      if (stopping) return;
      labFailure ??= `${p.label} exited (${status.code}${status.signal ? ` ${status.signal}` : ""}):\n${
        p.stderr.slice(-20).join("\n")
      }`;
      progress(labFailure);
      allDone();
    });
  };
  let cluster: Cluster | undefined;
  const abort = new AbortController();
  // Interrupted, the soak still stops what it started (its processes would otherwise outlive it).
  const interrupted = () => {
    progress("interrupted: stopping what the soak started");
    for (const p of processes) {
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch { /* gone */ }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    // The dispatcher as the packages ship it: one bundle.
    const dispatchMain = options.fromSource ? join(ROOT, "worker/dispatch/main.ts") : join(dir, "basalt-dispatch.js");
    if (!options.fromSource) {
      await bundle("worker/dispatch/main.ts", dispatchMain);
    }
    let storage: string[];
    if (options.db === "postgres") {
      cluster = await startCluster({ durable: true });
      storage = ["--db", cluster.url];
    } else {
      storage = ["--data-dir", join(dir, "data")];
    }
    const manage = (...args: string[]) =>
      run(Deno.execPath(), ["run", "-A", "master/manage/main.ts", ...storage, ...args]);
    await manage("users", "add", "--superuser", "admin");
    const token = (await manage("tokens", "add", "--user", "admin")).trim();
    const coordinator = TestProcess.deno("coordinator", "coordinator/main.ts", [
      "--port",
      "0",
      "--state-dir",
      join(dir, "coordinator"),
      "--log-level",
      "error",
    ]);
    supervise(coordinator);
    const coordinatorPort = Number((await coordinator.waitForEvent("ready", 60_000)).port);
    const master = TestProcess.deno("master", "master/main.ts", [
      ...storage,
      "--lab-dir",
      labDir,
      "--http",
      "127.0.0.1:0",
      "--zmq",
      "tcp://127.0.0.1:*",
      "--events",
      "tcp://127.0.0.1:*",
      "--coordinator",
      `127.0.0.1:${coordinatorPort}`,
      "--log-level",
      "error",
    ]);
    supervise(master);
    const ready = await master.waitForEvent("ready", 120_000);
    const api = new MasterClient(String(ready.http), token);
    progress(`master at ${ready.http}; adding ${options.workers} workers and ${options.devices} devices`);
    await api.call("POST", "/api/v0.2/devicetypes/", { name: "soak" });
    const workers: TestProcess[] = [];
    for (let w = 1; w <= options.workers; w++) {
      await api.call("POST", "/api/v0.2/workers/", { hostname: `w${w}` });
      const worker = new TestProcess(`worker w${w}`, Deno.execPath(), [
        "run",
        "-A",
        "worker/main.ts",
        "--name",
        `w${w}`,
        "--master",
        String(ready.zmq),
        "--state-dir",
        join(dir, `w${w}`),
        "--file-dirs",
        images,
        "--log-level",
        "error",
      ], { cwd: ROOT, env: { BASALT_DISPATCH_MAIN: dispatchMain } });
      workers.push(worker);
      supervise(worker);
    }
    for (let d = 0; d < options.devices; d++) {
      const hostname = `soak-${String(d + 1).padStart(3, "0")}`;
      await api.call("POST", "/api/v0.2/devices/", {
        hostname,
        device_type: "soak",
        worker_host: `w${(d % options.workers) + 1}`,
      });
      await api.call(
        "PUT",
        `/api/v1/devices/${hostname}/dictionary`,
        `{% extends 'soak.jinja2' %}\n{% set connection_command = 'tcp://127.0.0.1:${devices.ports[d]}' %}\n`,
        true,
      );
      await api.call("POST", `/api/v1/devices/${hostname}/health`, { health: "Good", reason: "soak" });
    }

    // Everyone watching: event subscribers (the first times the jobs), and log followers.
    const tracked = new Map<string, Tracked>();
    const running = new Set<string>();
    let submittingDone = false;
    let pendingEnds = 0;
    const finishedAt = new Map<string, number>();
    const earlyRunning = new Map<string, { heard: number; started?: number }>();
    const cancelSoon = (job: string) =>
      setTimeout(() => api.call("POST", `/api/v1/jobs/${job}/cancel`).catch(() => {}), 500);
    const finish = (job: string, health: string, at: number) => {
      const t = tracked.get(job);
      running.delete(job);
      if (!t || t.finishedAt !== undefined) return;
      t.finishedAt = at;
      t.health = health;
      pendingEnds--;
      if (submittingDone && pendingEnds === 0) allDone();
    };
    /** The first subscriber times the jobs; the others only listen, as dashboards do. */
    const onEvent = (s: number) => (event: string, data: string) => {
      if (s !== 0 || event !== "testjob") return;
      const body = JSON.parse(data) as { data: { job: string; state: string; health: string; start_time?: string } };
      const { job, state, health } = body.data;
      const t = tracked.get(job);
      if (state === "Running") {
        running.add(job);
        const started = body.data.start_time ? Date.parse(body.data.start_time) : undefined;
        // Running may come before the submission's answer: kept until the job is tracked.
        if (!t) earlyRunning.set(job, { heard: performance.now(), started });
        else if (t.runningAt === undefined) {
          t.runningAt = performance.now();
          t.startedWall = started;
          if (t.kind === "cancel") cancelSoon(job);
        }
      }
      if (state === "Finished") {
        finishedAt.set(job, Date.now());
        finish(job, health, performance.now());
      }
    };
    const subscribers: Promise<void>[] = [];
    for (let s = 0; s < options.subscribers; s++) {
      // A subscriber too slow for the master is dropped by it (by design): it subscribes again.
      subscribers.push((async () => {
        while (!abort.signal.aborted) {
          await readSse(`${api.url}/api/v1/events`, token, onEvent(s), abort.signal).catch(() => {});
        }
      })());
    }
    // Events missed while a subscriber was away: the jobs not seen ending are asked about.
    const reconcile = async () => {
      for (const t of [...tracked.values()].filter((j) => j.finishedAt === undefined)) {
        const shown = await api.call<{ state: string; health: string }>("GET", `/api/v1/jobs/${t.display}`)
          .catch(() => undefined);
        if (shown?.state === "Finished") finish(t.display, shown.health, NaN);
      }
    };
    const lineLatencies: number[] = [];
    const followers: Promise<void>[] = [];
    for (let f = 0; f < options.followers; f++) {
      followers.push((async () => {
        while (!abort.signal.aborted) {
          const candidates = [...running];
          const job = candidates[Math.floor(Math.random() * candidates.length)];
          if (!job) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            continue;
          }
          const attached = Date.now();
          await readSse(`${api.url}/api/v1/jobs/${job}/logs/stream`, token, (event, data) => {
            if (event === "end") return false;
            if (event !== "lines") return;
            const now = Date.now();
            for (const line of JSON.parse(data) as { msg: unknown }[]) {
              const match = typeof line.msg === "string" ? SOAK_LINE.exec(line.msg) : null;
              // Only lines printed after the follower came: the stored backlog is not latency.
              if (match && Number(match[3]) >= attached) lineLatencies.push(now - Number(match[3]));
            }
          }, abort.signal).catch(() => {});
        }
      })());
    }

    // Sampling every 10 s: memory, and the queue with the scheduling pass at its longest.
    const masterRss: number[] = [];
    const workerRss: number[] = [];
    let peakQueue = 0;
    let passP99AtPeak = 0;
    const sample = async () => {
      const ended = [...tracked.values()].filter((t) => t.finishedAt !== undefined).length;
      progress(`${submitted} submitted, ${ended} finished, ${running.size} running`);
      try {
        masterRss.push(rssMiB(master.pid));
        workerRss.push(workers.reduce((sum, w) => sum + rssMiB(w.pid), 0) / workers.length);
      } catch {
        return; // a process of the lab is gone: supervise() has said which and why
      }
      const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text()).catch(() => "");
      const queue = Number(/^basalt_queue_length (\S+)/m.exec(metrics)?.[1] ?? 0);
      const pass = Number(/^basalt_scheduling_pass_seconds\{quantile="0.99"\} (\S+)/m.exec(metrics)?.[1] ?? 0);
      if (queue >= peakQueue) {
        peakQueue = queue;
        passP99AtPeak = pass * 1000;
      }
    };
    const sampler = setInterval(() => void sample(), 10_000);

    const dbBytesNow = async () =>
      options.db === "postgres"
        ? Number((await run("psql", [cluster!.url, "-Atc", "SELECT pg_database_size(current_database())"])).trim())
        : await directorySize(join(dir, "data"));
    const dbBytesAtStart = await dbBytesNow();
    const cpuAtStart = {
      master: cpuMs(master.pid),
      workers: workers.reduce((s, w) => s + cpuMs(w.pid), 0),
      dispatchers: workers.reduce((s, w) => s + childrenCpuMs(w.pid), 0),
    };
    const started = performance.now();
    const deadline = options.hours ? started + options.hours * 3_600_000 : Infinity;
    let submitted = 0;
    let index = 0;
    const submissions: Promise<void>[] = [];
    while (options.hours ? performance.now() < deadline : index < options.jobs) {
      const due = started + index * 1000 / options.rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const kind = kindOf(index);
      const definition = soakJob(files.ramdisk, kind, index);
      const submittedAt = performance.now();
      const submittedWall = Date.now();
      pendingEnds += kind === "multinode" ? 2 : 1;
      submissions.push(
        api.call<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition }).then((answer) => {
          for (const display of answer.job_ids.map(String)) {
            if (kind === "fail") behaviours.set(Number(display), { ...normal, raise: true });
            if (kind === "cancel") behaviours.set(Number(display), { lines: 100, lineMs: 100 });
            const early = earlyRunning.get(display);
            tracked.set(display, {
              display,
              kind,
              submittedAt,
              submittedWall,
              runningAt: early?.heard,
              startedWall: early?.started,
            });
            if (early !== undefined && kind === "cancel") cancelSoon(display);
          }
          submitted += answer.job_ids.length;
        }),
      );
      index++;
    }
    await Promise.all(submissions);
    progress(`all ${submitted} jobs submitted`);
    submittingDone = true;
    if (pendingEnds <= 0) allDone();
    // Every job ends, or the soak says which did not.
    const settle = setTimeout(allDone, 600_000);
    const reconciling = setInterval(() => void reconcile(), 15_000);
    await done;
    clearTimeout(settle);
    clearInterval(reconciling);
    if (labFailure) throw new Error(`the soak's lab failed: ${labFailure}`);
    const wallSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    await sample();
    // The workers reap their dispatchers as they end: give the last ones a moment.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const cpuAtEnd = {
      master: cpuMs(master.pid),
      workers: workers.reduce((s, w) => s + cpuMs(w.pid), 0),
      dispatchers: workers.reduce((s, w) => s + childrenCpuMs(w.pid), 0),
    };
    abort.abort();
    // The followers and subscribers wind down on their own once aborted; nothing waits on a stream.

    progress("checking every job's log");
    // Every job's lines, stored once and in order; each job's outcome as its kind calls for; end → Finished.
    const jobs = [...tracked.values()];
    let expected = 0;
    let stored = 0;
    let lost = 0;
    let repeated = 0;
    const wrongOutcomes: string[] = [];
    const endToFinished: number[] = [];
    for (const job of jobs) {
      const want = job.kind === "multinode"
        ? "Complete"
        : job.kind === "cancel"
        ? "Canceled"
        : job.kind === "fail"
        ? "Incomplete"
        : "Complete";
      if (job.health !== want) wrongOutcomes.push(`${job.display} (${job.kind}): ${job.health ?? "did not end"}`);
      const log = await api.call<{ lines: { dt: string; msg: unknown }[] }>("GET", `/api/v1/jobs/${job.display}/logs`);
      const numbers: number[] = [];
      for (const line of log.lines) {
        const match = typeof line.msg === "string" ? SOAK_LINE.exec(line.msg) : null;
        if (match) numbers.push(Number(match[2]));
      }
      const printed = job.kind === "cancel" ? (numbers.length ? Math.max(...numbers) + 1 : 0) : options.lines;
      expected += printed;
      stored += numbers.length;
      const seen = new Set(numbers);
      lost += Math.max(0, printed - seen.size);
      repeated += numbers.length - seen.size;
      if (numbers.some((n, i) => n !== i)) wrongOutcomes.push(`${job.display}: lines out of order`);
      const end = finishedAt.get(job.display);
      const last = log.lines.at(-1);
      if (end !== undefined && last) endToFinished.push(end - new Date(last.dt).getTime());
    }
    const ended: Record<string, number> = {};
    for (const job of jobs) ended[job.health ?? "not ended"] = (ended[job.health ?? "not ended"] ?? 0) + 1;
    const dbBytes = await dbBytesNow() - dbBytesAtStart;
    const completed = jobs.filter((j) => j.health !== undefined).length;
    const warm = Math.floor(masterRss.length / 5);
    const result: SoakResult = {
      options,
      submitted,
      ended,
      wallSeconds,
      jobsPerMinute: completed / wallSeconds * 60,
      cpuSecondsPerJob: {
        master: (cpuAtEnd.master - cpuAtStart.master) / 1000 / completed,
        workers: (cpuAtEnd.workers - cpuAtStart.workers) / 1000 / completed,
        dispatchers: (cpuAtEnd.dispatchers - cpuAtStart.dispatchers) / 1000 / completed,
      },
      submitToRunningMs: stats(
        jobs.filter((j) => j.startedWall !== undefined).map((j) => j.startedWall! - j.submittedWall),
      ),
      submitToRunningHeardMs: stats(
        jobs.filter((j) => j.runningAt !== undefined).map((j) => j.runningAt! - j.submittedAt),
      ),
      endToFinishedMs: stats(endToFinished),
      lineToFollowerMs: stats(lineLatencies),
      rss: {
        masterMiB: masterRss,
        workersMiB: workerRss,
        masterSlopeMiBPerHour: slopePerHour(masterRss.slice(warm), 10),
        workersSlopeMiBPerHour: slopePerHour(workerRss.slice(warm), 10),
      },
      dbBytesPerJob: dbBytes / Math.max(1, submitted),
      peakQueue,
      passP99AtPeakMs: passP99AtPeak,
      lines: { expected, stored, lost, repeated },
      wrongOutcomes,
      standalone: [],
    };
    stopping = true;
    for (const p of processes.reverse()) await p.stop();
    processes.length = 0;
    return options.standalone
      ? { ...result, standalone: await standaloneRuns(devices, labDir, files.ramdisk, images, dispatchMain, dir) }
      : result;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
    abort.abort();
    stopping = true;
    for (const p of processes.reverse()) await p.stop().catch(() => {});
    devices.close();
    await cluster?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

export function parseSoakArgs(args: string[]): SoakOptions {
  const { values } = parseArgs({
    args,
    options: {
      devices: { type: "string" },
      workers: { type: "string" },
      jobs: { type: "string" },
      rate: { type: "string" },
      lines: { type: "string" },
      "line-ms": { type: "string" },
      db: { type: "string" },
      hours: { type: "string" },
      "from-source": { type: "boolean" },
      followers: { type: "string" },
      subscribers: { type: "string" },
      "no-standalone": { type: "boolean" },
    },
    allowPositionals: true,
  });
  const number = (name: string, fallback: number) => {
    const value = values[name as keyof typeof values];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
    return n;
  };
  const db = values.db ?? "pglite";
  if (db !== "pglite" && db !== "postgres") throw new Error("--db is pglite or postgres");
  // The first event subscriber is the one that times the jobs.
  if (number("subscribers", SOAK_DEFAULTS.subscribers) < 1) throw new Error("--subscribers must be 1 or more");
  return {
    ...SOAK_DEFAULTS,
    devices: number("devices", SOAK_DEFAULTS.devices),
    workers: number("workers", SOAK_DEFAULTS.workers),
    jobs: number("jobs", SOAK_DEFAULTS.jobs),
    rate: number("rate", SOAK_DEFAULTS.rate),
    lines: number("lines", SOAK_DEFAULTS.lines),
    lineMs: number("line-ms", SOAK_DEFAULTS.lineMs),
    followers: number("followers", SOAK_DEFAULTS.followers),
    subscribers: number("subscribers", SOAK_DEFAULTS.subscribers),
    db,
    ...(values.hours ? { hours: number("hours", 0) } : {}),
    fromSource: values["from-source"] === true,
    standalone: values["no-standalone"] !== true,
  };
}

if (import.meta.main) console.log(formatSoak(await runSoak(parseSoakArgs(Deno.args))));
