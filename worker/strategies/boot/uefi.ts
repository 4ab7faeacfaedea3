/**
 * LAVA's `uefi` boot (its UEFI shell): connect, power-cycle, stop the shell's
 * startup.nsh countdown (`shell_interrupt_prompt`, `shell_interrupt_string`),
 * type the command set the job names at `Shell>` — each line ended by "\r\n", as
 * UEFI reads it — then log in and start the shell, all inside one retried action.
 * Firmware that must first be steered through its numbered menu to the shell
 * (LAVA's `shell_menu`, from the job or the device) has its countdown stopped
 * and that sequence walked first.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { ActionImplementation, ActionRun } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import type { DeviceResources } from "../../resources/device.ts";
import { CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import {
  BOOTLOADER_COMMANDS_SHAPE,
  BOOTLOADER_OVERLAY_SHAPE,
  bootloaderCommandActions,
  bootloaderDriver,
  SESSION_ACTIONS,
  shellSessionShape,
} from "./session.ts";
import { bootloaderOf, filledBootCommands } from "./substitutions.ts";
import { MENU_ACTIONS, MENU_CONNECT_SHAPE, menuDriver, menuOf, menuSequence, selectFromMenu } from "./uefi_menu.ts";

const METHOD = "uefi";

function shellMenuOf(block: Record<string, unknown>, device: DeviceResources): string | undefined {
  // As LAVA: the job's shell_menu wins over the device's; an empty one means there is no menu.
  if (typeof block.shell_menu === "string") return block.shell_menu || undefined;
  return device.bootloaders[METHOD]?.shellMenu;
}

function uefiActions(): Record<string, ActionImplementation> {
  const commands = bootloaderCommandActions(METHOD, (ctx, block) => filledBootCommands(ctx, block, METHOD));
  // The menu is described by the uefi method's own parameters (item_markup...), not uefi-menu's.
  const shellMenu = (run: ActionRun) => menuOf(run.ctx, METHOD, run.block);
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    ...MENU_ACTIONS,
    ...commands,
    "uefi-shell-menu-interrupt": (run) => menuDriver(run, shellMenu(run)).interrupt(),
    "uefi-shell-menu-selector": (run) => {
      const menu = shellMenu(run);
      const name = shellMenuOf(run.block, run.ctx.resources);
      // As LAVA: the menu's own prompt and boot message when the device names them, else the method's.
      return selectFromMenu(
        run,
        { ...menu, prompt: menu.menuPrompt ?? menu.prompt },
        menuSequence(menu, name),
        menu.menuBootMessage ?? menu.bootMessage,
      );
    },
    "uefi-shell-interrupt": (run) => bootloaderDriver(run, bootloaderOf(run.ctx, METHOD)).interrupt(),
  };
}

/** LAVA 2023.01's uefi-shell-main-action (actions/boot/uefi.py). */
export const uefiBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("uefi-shell-main-action", "UEFI shell boot action", "run UEFI shell to system", {
      retry: true,
      pipeline: [
        BOOTLOADER_OVERLAY_SHAPE,
        MENU_CONNECT_SHAPE,
        resetShape(device),
        ...(shellMenuOf(block, device) === undefined ? [] : [
          shape(
            "uefi-shell-menu-interrupt",
            "interrupt default boot and to menu",
            "interrupt default boot and to menu",
          ),
          shape(
            "uefi-shell-menu-selector",
            "select uefi menu items to drop to a uefi shell",
            "use uefi menu to drop to shell",
          ),
        ]),
        shape("uefi-shell-interrupt", "interrupt uefi menu to get to a shell", "first uefi interrupt"),
        BOOTLOADER_COMMANDS_SHAPE,
        ...shellSessionShape(block, testHasShell),
      ],
    }),
  actions: uefiActions,
};
