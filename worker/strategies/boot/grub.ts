/**
 * LAVA's `grub` boot: a board whose firmware starts GRUB (from disk, or over PXE
 * as the x86-grub template's PCs do). Connect, power-cycle, stop GRUB's menu with
 * "c" at "for a command-line", type the command set the job names (net_bootp,
 * linux and initrd over TFTP from the worker, boot), then log in and start the
 * shell, all inside one retried action. `grub-efi` is the same GRUB reached
 * through a numbered UEFI menu first: the countdown stopped, the entry the
 * device's `uefi-menu` method names in `menu_options` chosen.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import type { ActionImplementation, ActionRun, Block } from "../context.ts";
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
import {
  MENU_ACTIONS,
  menuDriver,
  menuOf,
  menuSequence,
  selectFromMenu,
  UEFI_MENU_INTERRUPT_SHAPE,
} from "./uefi_menu.ts";

const METHODS = ["grub", "grub-efi"] as const;
type GrubMethod = typeof METHODS[number];

const methodOf = (block: Block): GrubMethod => block.method === "grub-efi" ? "grub-efi" : "grub";

function grubActions(): Record<string, ActionImplementation> {
  // Each method types its own command set (`grub` or `grub-efi` in the device's configuration).
  const byMethod = Object.fromEntries(
    METHODS.map((m) => [m, bootloaderCommandActions(m, (ctx, block) => filledBootCommands(ctx, block, m))]),
  ) as Record<GrubMethod, Record<string, ActionImplementation>>;
  const typed = (name: string): ActionImplementation => (run) => byMethod[methodOf(run.block)][name](run);
  const uefiMenu = (run: ActionRun) => menuOf(run.ctx, "uefi-menu", run.block);
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    ...MENU_ACTIONS,
    "uefi-menu-interrupt": (run) => menuDriver(run, uefiMenu(run)).interrupt(),
    // As LAVA's GrubMenuSelector: the uefi-menu method's `menu_options` names the sequence, used as it is.
    "grub-efi-menu-selector": (run) => {
      const menu = uefiMenu(run);
      if (menu.menuOptions === undefined) {
        throw new ConfigurationError("Missing entry for menu item to use for uefi-menu (its menu_options)");
      }
      return selectFromMenu(run, menu, menuSequence(menu, menu.menuOptions));
    },
    // LAVA points GRUB at a kernel on the boot media a usb or sata deploy wrote; Basalt runs neither.
    "bootloader-from-media": ({ ctx }) => {
      const media = (Array.isArray(ctx.job.actions) ? ctx.job.actions : []).find((a) =>
        isMapping(a) && isMapping(a.deploy) && ["usb", "sata"].includes(String(a.deploy.to))
      );
      if (media) throw new JobError("boot from secondary media (deploy to usb or sata) is not supported by Basalt yet");
      return Promise.resolve();
    },
    "bootloader-overlay": typed("bootloader-overlay"),
    "bootloader-interrupt": typed("bootloader-interrupt"),
    "bootloader-commands": typed("bootloader-commands"),
  };
}

/**
 * LAVA 2023.01's grub tree (its pipeline_refs/grub.yaml, and mustang-grub-efi-nfs.yaml for grub-efi): one retried
 * action from the overlay to the shell. A grub-efi device may say not to be reset (`reset_device: false`).
 */
export const grubBoot: Strategy = {
  section: "boot",
  methods: METHODS,
  shape: (block, { testHasShell }, device) => {
    const efi = methodOf(block) === "grub-efi";
    const reset = !efi || device.grubEfiReset;
    return shape("grub-main-action", "main grub boot action", "run grub boot from power to system", {
      retry: true,
      pipeline: [
        shape(
          "bootloader-from-media",
          "let bootloader know where to find the kernel in the image on secondary media",
          "set bootloader strings for deployed media",
        ),
        BOOTLOADER_OVERLAY_SHAPE,
        CONNECT_SHAPE,
        ...(reset ? [resetShape(device)] : []),
        ...(efi
          ? [
            UEFI_MENU_INTERRUPT_SHAPE,
            shape(
              "grub-efi-menu-selector",
              "select specified grub-efi menu items",
              "select grub options in the efi menu",
            ),
          ]
          : []),
        BOOTLOADER_INTERRUPT_SHAPE,
        BOOTLOADER_COMMANDS_SHAPE,
        ...shellSessionShape(block, testHasShell),
      ],
    });
  },
  actions: grubActions,
};
