/**
 * Debian's `fastboot` client, run for a job as LAVA runs it: `fastboot -s
 * SERIAL <command...> <the device's fastboot_options>`, its output into the job's
 * log line by line. The client waits by itself for a device that is not there
 * yet ("< waiting for SERIAL >"), so the action's time bounds every run.
 *
 * How a failed run is judged: LAVA 2023.01 makes every failed fastboot command
 * a JobError. Basalt reads what the client said instead — a device that answered
 * FAIL ("FAILED (remote: '…')") refused what the job asked, the job's error with
 * the device's words; a device that stopped answering or went away mid-transfer
 * is the lab's (InfrastructureError).
 */
import type { JobLog } from "../job/log.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";

export interface FastbootTarget {
  /** The device's `fastboot_serial_number` (a USB serial, or `tcp:HOST[:PORT]` / `udp:HOST[:PORT]`). */
  readonly serial: string;
  /** The device's `fastboot_options`, appended to every command as LAVA does. */
  readonly options: readonly string[];
}

export interface FastbootRun {
  readonly code: number;
  /** What the client printed (stdout and stderr together, as LAVA reads it), its last 64 KiB. */
  readonly output: string;
}

/** What the client's output keeps for judging a failure: enough for any message, bounded for a chatty device. */
const OUTPUT_KEPT = 64 * 1024;
const LINE_MAX = 4096;

/** The argv LAVA builds: the serial first, the device's options last. */
export function fastbootArgv(target: FastbootTarget, command: readonly string[]): string[] {
  return ["-s", target.serial, ...command, ...target.options];
}

/** Runs the client to its end (or the signal's); never throws for a non-zero exit — `check` judges that. */
export async function runFastboot(
  target: FastbootTarget,
  command: readonly string[],
  log: JobLog,
  signal: AbortSignal,
): Promise<FastbootRun> {
  const args = fastbootArgv(target, command);
  log.debug(`Calling: 'fastboot' '${args.join("' '")}'`);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("fastboot", { args, stdin: "null", stdout: "piped", stderr: "piped", signal }).spawn();
  } catch (error) {
    throw new InfrastructureError(`fastboot could not run (is Debian's fastboot package installed?): ${error}`);
  }
  let output = "";
  const keep = (line: string) => {
    log.info(line);
    output = (output + line + "\n").slice(-OUTPUT_KEPT);
  };
  // The client ends progress lines with \r; a line that never ends is logged in pieces of LINE_MAX.
  const follow = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      const pieces = (partial + text).split(/\r\n|\r|\n/);
      partial = pieces.pop() ?? "";
      while (partial.length > LINE_MAX) {
        pieces.push(partial.slice(0, LINE_MAX));
        partial = partial.slice(LINE_MAX);
      }
      for (const line of pieces) if (line.trim()) keep(line.trimEnd());
    }
    if (partial.trim()) keep(partial.trimEnd());
  };
  const [status] = await Promise.all([child.status, follow(child.stdout), follow(child.stderr)]);
  return { code: status.code, output };
}

/** The device's own refusal in the client's output ("FAILED (remote: 'partition locked')"), if it gave one. */
export function remoteFailure(output: string): string | undefined {
  return /FAILED \(remote: '?([^'\n]*?)'?\)/.exec(output)?.[1];
}

/** Throws the failure a non-zero run means: the device refused (the job's error) or was lost (the lab's). */
export function check(run: FastbootRun, what: string): void {
  if (run.code === 0) return;
  const refused = remoteFailure(run.output);
  if (refused !== undefined) throw new JobError(`${what}: the device refused: ${refused}`);
  const last = run.output.trim().split("\n").slice(-3).join(" | ").slice(0, 400);
  throw new InfrastructureError(`${what}: fastboot exited ${run.code}, the device did not complete it: ${last}`);
}
