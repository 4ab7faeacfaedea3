/**
 * LAVA's `uefi` boot (its UEFI shell): connect, power-cycle, stop the shell's
 * startup.nsh countdown (`shell_interrupt_prompt`, `shell_interrupt_string`),
 * type the command set the job names at `Shell>` — each line ended by "\r\n", as
 * UEFI reads it — then log in and start the shell, all inside one retried action.
 * Firmware that must first be steered through a UEFI menu to its shell (LAVA's
 * `shell_menu`) is refused: Basalt has no UEFI menu selector yet.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { ConfigurationError } from "../../job/errors.ts";
import type { ActionImplementation, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
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

const METHOD = "uefi";

function shellMenuOf(ctx: JobContext, block: Record<string, unknown>): string | undefined {
  // As LAVA: the job's shell_menu wins over the device's; an empty one means there is no menu.
  if (typeof block.shell_menu === "string") return block.shell_menu || undefined;
  return bootloaderOf(ctx, METHOD).shellMenu;
}

function uefiActions(): Record<string, ActionImplementation> {
  const commands = bootloaderCommandActions(METHOD, (ctx, block) => {
    const menu = shellMenuOf(ctx, block);
    if (menu !== undefined) {
      throw new ConfigurationError(
        `uefi shell_menu: ${JSON.stringify(menu)} — reaching the UEFI shell through a firmware menu is not ` +
          "supported yet; a device whose firmware starts its shell needs no shell_menu",
      );
    }
    return filledBootCommands(ctx, block, METHOD);
  });
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    ...commands,
    // LAVA's MenuConnect: the serial connection, as connect-device makes it.
    "menu-connect": CONNECTION_ACTIONS["connect-device"],
    "uefi-shell-interrupt": (run) => bootloaderDriver(run, bootloaderOf(run.ctx, METHOD)).interrupt(),
  };
}

/** LAVA 2023.01's uefi-shell-main-action (actions/boot/uefi.py), without its menu steps. */
export const uefiBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("uefi-shell-main-action", "UEFI shell boot action", "run UEFI shell to system", {
      retry: true,
      pipeline: [
        BOOTLOADER_OVERLAY_SHAPE,
        shape("menu-connect", "Customise connection for menu operations", "customise connection for menu operations"),
        resetShape(device),
        shape("uefi-shell-interrupt", "interrupt uefi menu to get to a shell", "first uefi interrupt"),
        BOOTLOADER_COMMANDS_SHAPE,
        ...shellSessionShape(block, testHasShell),
      ],
    }),
  actions: uefiActions,
};
