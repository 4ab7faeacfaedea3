/**
 * LAVA's `ipxe` boot: connect, power-cycle, stop iPXE at "Press Ctrl-B", type the
 * command set the job names (dhcp, kernel and initrd over TFTP from the worker,
 * boot), then log in and start the shell, all inside one retried action.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { JobError } from "../../job/errors.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import {
  BOOTLOADER_COMMANDS_SHAPE,
  BOOTLOADER_INTERRUPT_SHAPE,
  BOOTLOADER_OVERLAY_SHAPE,
  bootloaderCommandActions,
  SESSION_ACTIONS,
  shellSessionShape,
} from "./session.ts";
import { filledBootCommands } from "./substitutions.ts";

const METHOD = "ipxe";

function ipxeCommands(ctx: JobContext, block: Block): string[] {
  if (block.use_bootscript === true) {
    throw new JobError("boot use_bootscript: Basalt types iPXE's commands; it does not write boot scripts yet");
  }
  return filledBootCommands(ctx, block, METHOD);
}

function ipxeActions(): Record<string, ActionImplementation> {
  return { ...CONNECTION_ACTIONS, ...SESSION_ACTIONS, ...bootloaderCommandActions(METHOD, ipxeCommands) };
}

/** LAVA 2023.01's ipxe tree: the retried part starts at the reset, after the connection. */
export const ipxeBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("bootloader-action", "interactive bootloader action", "pass boot commands", {
      pipeline: [
        BOOTLOADER_OVERLAY_SHAPE,
        CONNECT_SHAPE,
        shape("bootloader-retry", "interactive uboot retry action", "uboot commands with retry", {
          retry: true,
          pipeline: [
            resetShape(device),
            BOOTLOADER_INTERRUPT_SHAPE,
            BOOTLOADER_COMMANDS_SHAPE,
            ...shellSessionShape(block, testHasShell),
          ],
        }),
      ],
    }),
  actions: ipxeActions,
};
