/**
 * Finalize: always runs, whatever happened before — the device is powered off
 * (QEMU stopped, or the device's power-off command run) and its console closed.
 */
import { runPowerCommands } from "../drivers/power.ts";
import type { ActionImplementation, JobContext } from "./context.ts";

/** Powers the device off; used by finalize and by cancellation. */
export async function powerOff(ctx: JobContext, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (ctx.qemu) {
    const qemu = ctx.qemu;
    ctx.qemu = undefined;
    ctx.log.info("Stopping QEMU");
    await qemu.close();
  } else if (!ctx.poweredOff) {
    await runPowerCommands("power off", ctx.command("power_off"), ctx.log, timeoutMs, signal);
  }
  ctx.poweredOff = true;
  const console = ctx.console;
  ctx.console = undefined;
  await console?.close();
  for (const cleanup of ctx.cleanups.splice(0)) await cleanup().catch(() => {});
}

export const FINALIZE_ACTIONS: Record<string, ActionImplementation> = {
  "power-off": ({ ctx, action, signal }) => powerOff(ctx, action.timeout * 1000, signal),
  "read-feedback": () => Promise.resolve(),
};
