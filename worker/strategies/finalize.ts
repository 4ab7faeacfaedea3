/**
 * Finalize: always runs, whatever happened before — the device is powered off
 * (its power driver: QEMU stopped, or the device's power-off command run) and its
 * console closed.
 */
import { shape } from "../../actors/definitions/pipeline.ts";
import { QemuProcess } from "../drivers/qemu.ts";
import type { ActionImplementation, JobContext } from "./context.ts";
import type { Strategy } from "./strategy.ts";

/** Powers the device off; used by finalize and by cancellation. */
export async function powerOff(ctx: JobContext, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  try {
    if (!ctx.poweredOff) {
      if (ctx.power instanceof QemuProcess && ctx.power.process) ctx.log.info("Stopping QEMU");
      await ctx.power.off(timeoutMs, signal);
    }
    ctx.poweredOff = true;
  } finally {
    // A power switch that failed still leaves nothing of the job's behind: its exports, TFTP files, connections.
    const console = ctx.console;
    ctx.console = undefined;
    await console?.close().catch((error) => ctx.log.warning(`closing the console failed: ${(error as Error).message}`));
    for (const cleanup of ctx.cleanups.splice(0)) {
      await cleanup().catch((error) => ctx.log.warning(`cleanup failed: ${(error as Error).message}`));
    }
  }
}

const FINALIZE_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "power-off": ({ ctx, action, signal }) => powerOff(ctx, action.timeout * 1000, signal),
  "read-feedback": () => Promise.resolve(),
};

export const finalize: Strategy = {
  section: "finalize",
  methods: ["finalize"],
  shape: () =>
    shape("finalize", "finish the process and cleanup", "finalize the job", {
      pipeline: [
        shape("power-off", "discontinue power to device", "send power_off command"),
        shape("read-feedback", "Check for messages on all other namespaces", "Read from other namespaces"),
      ],
    }),
  actions: () => FINALIZE_ACTIONS,
};
