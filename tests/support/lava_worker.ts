/**
 * Debian's real `lava-worker` (package lava-dispatcher) for tests and
 * benchmarks: started against a Basalt master with its own worker directory,
 * stopped by PID — with every process it left (`lava-run` runs in a process
 * group of its own and renames itself, QEMU under it), found by a marker in
 * their environment.
 */
import { stringify } from "yaml";
import { qemuJob } from "./dut.ts";
import { TestProcess } from "./process.ts";

const MARKER = "BASALT_TEST_LAVA_WORKER";

export function lavaWorkerInstalled(): boolean {
  try {
    return Deno.statSync("/usr/bin/lava-worker").isFile && Deno.statSync("/usr/bin/lava-run").isFile;
  } catch {
    return false;
  }
}

export interface LavaWorkerOptions {
  readonly name: string;
  /** The master's HTTP base URL. */
  readonly url: string;
  /** Its token; without one it registers itself and keeps the token it is given in its directory. */
  readonly token?: string;
  /** Its `--worker-dir`: its token, its job database, each job's files. */
  readonly dir: string;
  readonly extraArgs?: readonly string[];
  /** A command that runs lava-worker (given as its trailing arguments), such as `unshare ...`. */
  readonly wrap?: readonly string[];
}

/** Starts `lava-worker` logging to stdout (its lines are the process's `text` events). */
export function startLavaWorker(options: LavaWorkerOptions): TestProcess {
  const [command, ...prefix] = options.wrap ?? ["lava-worker"];
  return new TestProcess(`lava-worker ${options.name}`, command, [
    ...(options.wrap ? [...prefix, "lava-worker"] : []),
    "--name",
    options.name,
    "--url",
    options.url,
    ...(options.token ? ["--token", options.token] : []),
    "--worker-dir",
    options.dir,
    "--log-file",
    "-",
    "--level",
    "DEBUG",
    ...(options.extraArgs ?? []),
  ], {
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      NO_PROXY: "127.0.0.1",
      no_proxy: "127.0.0.1",
      [MARKER]: options.dir,
    },
  });
}

/** PIDs of processes started for the worker in `dir` (lava-run, QEMU...), the worker itself included. */
export function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (environ.split("\0").includes(`${MARKER}=${dir}`)) pids.push(Number(entry.name));
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

/** Stops the worker and everything it started. */
export async function stopLavaWorker(worker: TestProcess | undefined, dir: string): Promise<void> {
  if (worker) {
    try {
      Deno.kill(worker.pid, "SIGKILL");
    } catch { /* already gone */ }
    await worker.exited;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const left = processesOf(dir);
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A job lava-run runs on the QEMU DUT: tmpfs deploy, QEMU boot, and an interactive test (LAVA's overlay for a
 * test definition would need libguestfs's appliance, which this machine does not run). `commands` are run at the
 * shell prompt; each must print `expect`.
 */
export function lavaQemuJob(
  name: string,
  commands: readonly { name: string; command: string; expect: string }[] = [
    { name: "kernel", command: "uname -s", expect: "Linux" },
    { name: "echo", command: "echo ab''cd", expect: "abcd" },
  ],
  testSeconds = 60,
): string {
  const job = qemuJob({ name }) as { actions: unknown[]; [key: string]: unknown };
  job.context = { arch: "amd64" };
  job.actions.push({
    test: {
      timeout: { seconds: testSeconds },
      interactive: [{
        name: "probe",
        prompts: ["/ # "],
        script: commands.map((c) => ({ name: c.name, command: c.command, successes: [{ message: c.expect }] })),
      }],
    },
  });
  return stringify(job);
}
