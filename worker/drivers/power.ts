/**
 * Power control through the device's commands (`power_on_command`,
 * `power_off_command`, `hard_reset_command` in the dictionary): usually
 * pdudaemon's `pduclient`, a relay tool, or anything a shell can run. A command that
 * fails is an infrastructure error: the lab, not the job, is at fault.
 */
import { InfrastructureError } from "../job/errors.ts";
import type { JobLog } from "../job/log.ts";

export type PowerCommand = string | readonly string[];

/** Runs each command in turn with `sh -c`, logging it and what it printed. */
export async function runPowerCommands(
  what: string,
  commands: PowerCommand | undefined,
  log: JobLog,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (commands === undefined || commands === null) return false;
  for (const command of typeof commands === "string" ? [commands] : commands) {
    log.info(`Calling: '${command}' (${what})`);
    const child = new Deno.Command("sh", { args: ["-c", command], stdout: "piped", stderr: "piped", stdin: "null" })
      .spawn();
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    };
    const timer = setTimeout(kill, timeoutMs);
    signal?.addEventListener("abort", kill, { once: true });
    const output = await child.output();
    clearTimeout(timer);
    signal?.removeEventListener("abort", kill);
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    for (const line of text.split("\n").filter((l) => l.trim() !== "")) log.debug(line);
    if (!output.success) {
      throw new InfrastructureError(
        `${what} command failed (exit code ${output.code}${output.signal ? `, ${output.signal}` : ""}): ${command}`,
      );
    }
  }
  return true;
}
