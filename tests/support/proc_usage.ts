/**
 * What a process costs, read from /proc: CPU time and resident memory, for
 * tests and benchmarks that watch a real process (Linux only).
 */

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) the process has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND;
}

/** Resident memory, in MiB. */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

/** Open file descriptors (sockets included). */
export function openFds(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/** CPU milliseconds the process uses over the next `ms`. */
export async function cpuMsOver(pid: number, ms: number): Promise<number> {
  const before = cpuMs(pid);
  await new Promise((r) => setTimeout(r, ms));
  return cpuMs(pid) - before;
}

/** CPU time (user + system) of the process's children that have ended and that it waited for, in milliseconds. */
export function childrenCpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 1000 / TICKS_PER_SECOND;
}
