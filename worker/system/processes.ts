/**
 * The dispatch processes a worker runs: each in its own session and process
 * group (so a cancel can signal everything the job started — QEMU, telnet,
 * power scripts — at once), detached enough to outlive a worker restart, and
 * watched through a pidfd, which works for a process that is no longer our
 * child as well as for one that is.
 */
import { errno, libc, pollFd, POLLIN } from "./libc.ts";

const SYS_PIDFD_OPEN = 434n;
/** How long killProcessesUnder waits for what it killed to end. */
const KILL_WAIT_MS = 10_000;
const ESRCH = 3;

export interface DetachedProcess {
  readonly pid: number;
  /** The kernel's start time of the process, which tells it apart from a later one given the same pid. */
  readonly startTime: string;
}

export interface SpawnDetachedOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly clearEnv?: boolean;
  /** Appends the process's stderr here (a crash's last words); otherwise it goes nowhere. */
  readonly stderrFile?: string;
}

/** Starts `argv` as the leader of a new session and process group, with no stdin or stdout. */
export function spawnDetached(argv: readonly string[], options: SpawnDetachedOptions = {}): DetachedProcess {
  // A file outlives the worker where a pipe would not; `exec` keeps the pid the one we watch.
  const command = options.stderrFile ? ["sh", "-c", 'exec "$@" 2>>"$0"', options.stderrFile, ...argv] : argv;
  // `detached` makes the child a session and group leader (setsid) before it runs.
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    detached: true,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Reap it when it ends while we are its parent; the pidfd does the watching.
  child.status.catch(() => {});
  child.unref();
  const startTime = processStartTime(child.pid);
  return { pid: child.pid, startTime: startTime ?? "" };
}

/** Field 22 of /proc/PID/stat, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may hold spaces and parentheses: fields start after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that was started as `process` is still there (and not a zombie). */
export function isAlive(process: DetachedProcess): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${process.pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] === process.startTime && fields[0] !== "Z";
  } catch {
    return false;
  }
}

/** Resolves when the process ends; at once when it already has (or its pid was reused). */
export async function waitForExit(process: DetachedProcess): Promise<void> {
  const fd = Number(libc.symbols.syscall(SYS_PIDFD_OPEN, BigInt(process.pid), 0n));
  if (fd < 0) {
    if (errno() === ESRCH) return;
    throw new Error(`pidfd_open(${process.pid}) failed (errno ${errno()})`);
  }
  try {
    // Opened by pid: check it is still the process we started before waiting on it.
    if (!isAlive(process)) return;
    await pollFd(fd, POLLIN, -1);
  } finally {
    libc.symbols.close(fd);
  }
}

/** Sends `signal` to the process group led by `process`; false when it is gone. */
export function signalGroup(process: DetachedProcess, signal: Deno.Signal): boolean {
  if (!isAlive(process)) return false;
  try {
    Deno.kill(-process.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILL to every process whose command line names something under `dir` (what a job's processes carry: its
 * directory), except this one; returns their pids, once they have ended when `wait` is set.
 */
export async function killProcessesUnder(dir: string, options: { wait?: boolean } = {}): Promise<number[]> {
  const found = await new Deno.Command("pgrep", { args: ["-f", "--", `${dir}/`], stdout: "piped", stderr: "null" })
    .output().catch(() => undefined);
  const pids = new TextDecoder().decode(found?.stdout ?? new Uint8Array()).split("\n").map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== Deno.pid);
  const killed: DetachedProcess[] = [];
  for (const pid of pids) {
    const startTime = processStartTime(pid);
    try {
      Deno.kill(pid, "SIGKILL");
      if (startTime !== undefined) killed.push({ pid, startTime });
    } catch { /* gone */ }
  }
  if (options.wait) {
    // Bounded: a process stuck in uninterruptible I/O ends when the kernel lets it, not when the caller needs it to.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(killed.map(waitForExit)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, KILL_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }
  return pids;
}
