/**
 * LAVA's `grub` boot: a board whose firmware starts GRUB (from disk, or over PXE
 * as the x86-grub template's PCs do). Connect, power-cycle, stop GRUB's menu with
 * "c" at "for a command-line", type the command set the job names (net_bootp,
 * linux and initrd over TFTP from the worker, boot), then log in and start the
 * shell, all inside one retried action. `grub-efi` (GRUB behind a UEFI menu) is
 * not run here yet: it needs the UEFI menu driver.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
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

const METHOD = "grub";

/** Grub's commands: the job's command set, filled, a file left unfilled being the job's error. */
function grubCommands(ctx: JobContext, block: Block): string[] {
  return filledBootCommands(ctx, block, METHOD);
}

function grubActions(): Record<string, ActionImplementation> {
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    // LAVA points GRUB at a kernel on the boot media a usb or sata deploy wrote; Basalt runs neither.
    "bootloader-from-media": ({ ctx }) => {
      const media = (Array.isArray(ctx.job.actions) ? ctx.job.actions : []).find((a) =>
        isMapping(a) && isMapping(a.deploy) && ["usb", "sata"].includes(String(a.deploy.to))
      );
      if (media) throw new JobError("boot from secondary media (deploy to usb or sata) is not supported by Basalt yet");
      return Promise.resolve();
    },
    ...bootloaderCommandActions(METHOD, grubCommands),
  };
}

/** LAVA 2023.01's grub tree (its pipeline_refs/grub.yaml): one retried action from the overlay to the shell. */
export const grubBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("grub-main-action", "main grub boot action", "run grub boot from power to system", {
      retry: true,
      pipeline: [
        shape(
          "bootloader-from-media",
          "let bootloader know where to find the kernel in the image on secondary media",
          "set bootloader strings for deployed media",
        ),
        BOOTLOADER_OVERLAY_SHAPE,
        CONNECT_SHAPE,
        resetShape(device),
        BOOTLOADER_INTERRUPT_SHAPE,
        BOOTLOADER_COMMANDS_SHAPE,
        ...shellSessionShape(block, testHasShell),
      ],
    }),
  actions: grubActions,
};
