/**
 * Power control through the device's commands (`power_on_command`,
 * `power_off_command`, `hard_reset_command` in the dictionary): usually
 * pdudaemon's `pduclient`, a relay tool, or anything a shell can run. A command that
 * fails is an infrastructure error: the lab, not the job, is at fault.
 */
import { signalChild } from "../../actors/process/signal_child.ts";
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
    const kill = () => void signalChild(child, "SIGKILL");
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

/**
 * Switching a device's power, whatever does it: the device's commands (a PDU, a
 * relay) or, for a virtual device, the QEMU process the boot started.
 */
export interface PowerDriver {
  /** Power-cycles the device; false when it has no way to (nothing was done). */
  reset(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Switches the device off; false when it has no way to. */
  off(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Switches the device on; false when it has no way to. */
  on(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

export interface ShellPowerCommands {
  readonly hardReset: readonly string[];
  readonly powerOn: readonly string[];
  readonly powerOff: readonly string[];
}

/** Power through the device's commands, run on the worker with `sh -c`. */
export class ShellPower implements PowerDriver {
  constructor(private readonly commands: ShellPowerCommands, private readonly log: JobLog) {}

  async reset(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const run = (what: string, commands: readonly string[]) =>
      commands.length > 0 ? runPowerCommands(what, commands, this.log, timeoutMs, signal) : false;
    if (await run("hard reset", this.commands.hardReset)) return true;
    const off = await run("power off", this.commands.powerOff);
    const on = await run("power on", this.commands.powerOn);
    return off || on;
  }

  async off(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.commands.powerOff.length === 0) return false;
    return await runPowerCommands("power off", this.commands.powerOff, this.log, timeoutMs, signal);
  }

  async on(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.commands.powerOn.length === 0) return false;
    return await runPowerCommands("power on", this.commands.powerOn, this.log, timeoutMs, signal);
  }
}
