/**
 * LAVA's `u-boot` boot: connect, power-cycle, interrupt U-Boot, type the command
 * set the job names with its placeholders filled (load addresses, the files the
 * deploy put in the TFTP directory, the worker's address), and wait for the kernel.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { commandList, fillPlaceholders } from "../../drivers/bootloader.ts";
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
import { bootloaderOf, bootloaderSubstitutions } from "./substitutions.ts";

const METHOD = "u-boot";

/** The job's U-Boot commands with `{KERNEL_ADDR}`-style placeholders filled in. */
function ubootCommands(ctx: JobContext, block: Block): string[] {
  return fillPlaceholders(commandList(bootloaderOf(ctx, METHOD), block.commands), bootloaderSubstitutions(ctx, METHOD));
}

/** The actions of one u-boot block: the commands, filled in once, pass from the overlay to the commands. */
function ubootActions(): Record<string, ActionImplementation> {
  return { ...CONNECTION_ACTIONS, ...SESSION_ACTIONS, ...bootloaderCommandActions(METHOD, ubootCommands) };
}

/** LAVA 2023.01's u-boot tree: the login and shell actions sit inside uboot-commands, which only uboot-action retries. */
export const ubootBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("uboot-action", "interactive uboot action", "pass uboot commands", {
      retry: true,
      pipeline: [
        shape(
          "uboot-from-media",
          "let uboot know where to find the kernel in the image on secondary media",
          "set uboot strings for deployed media",
        ),
        BOOTLOADER_OVERLAY_SHAPE,
        CONNECT_SHAPE,
        shape("uboot-commands", "interactive uboot commands action", "uboot commands", {
          pipeline: [
            resetShape(device),
            BOOTLOADER_INTERRUPT_SHAPE,
            BOOTLOADER_COMMANDS_SHAPE,
            ...shellSessionShape(block, testHasShell),
          ],
        }),
      ],
    }),
  actions: ubootActions,
};
