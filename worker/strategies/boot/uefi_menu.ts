/**
 * LAVA's `uefi-menu` boot: firmware with a numbered boot menu ("[3] Boot
 * Manager ... Start:"), steered by the sequence of selections the device's
 * configuration names for the job's `commands` — adding a TFTP boot entry with
 * the job's kernel and ramdisk, then starting it. Connect, power-cycle, stop the
 * countdown, walk the menu, wait for the firmware's boot message, then log in.
 * The menu actions are shared with `grub-efi` (GRUB chosen from such a menu) and
 * `uefi`'s `shell_menu` (the UEFI shell chosen from it).
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { MenuDriver } from "../../drivers/menu.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { type MenuResource, menuResource, type MenuStep } from "../../resources/menu.ts";
import type { ActionImplementation, ActionRun, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import { AUTO_LOGIN_SHAPE, expectOn, EXPORT_ENV_SHAPE, SESSION_ACTIONS } from "./session.ts";
import { bootloaderSubstitutions } from "./substitutions.ts";
import { fillPlaceholders } from "../../drivers/bootloader.ts";

const METHOD = "uefi-menu";
/** Placeholders a sequence cannot go on without. */
const NEEDED = new Set(["KERNEL", "RAMDISK", "INITRD", "DTB", "SERVER_IP", "NFSROOTFS", "NFS_SERVER_IP"]);

/** The menu driver for `menu` on the job's console, reading it as this action (its timeout, its log). */
export function menuDriver(run: ActionRun, menu: MenuResource): MenuDriver {
  const { ctx } = run;
  if (!ctx.console) throw new JobError(`${run.action.name}: no connection to the device`);
  return new MenuDriver(
    menu,
    ctx.console,
    (patterns, what) => expectOn(run, [...patterns], what, undefined, { untilActionEnds: true }),
    { characterDelayMs: ctx.characterDelay("boot"), log: (message) => ctx.log.debug(message), signal: run.signal },
  );
}

/** The device's `method` menu, the job's boot block choosing its line separator. */
export function menuOf(ctx: JobContext, method: string, block: Block): MenuResource {
  return menuResource(ctx.device, method, block.line_separator);
}

/**
 * LAVA's menu selectors (uefi-menu's, grub-efi's, the UEFI shell's): the device's pre-OS command first when it has
 * one, then the sequence from the menu's prompt.
 */
export async function selectFromMenu(
  run: ActionRun,
  menu: MenuResource,
  steps: readonly MenuStep[],
  bootMessage?: string,
): Promise<void> {
  if (run.ctx.resources.power.preOs.length > 0) await CONNECTION_ACTIONS["pre-os-command"](run);
  await menuDriver(run, menu).select(steps, bootMessage);
}

/** The sequence `name` of the device's `method` menu; a device without it cannot boot the job that way. */
export function menuSequence(menu: MenuResource, name: unknown): readonly MenuStep[] {
  if (name === undefined) throw new JobError("Missing commands in action parameters");
  if (typeof name !== "string" || !Object.hasOwn(menu.sequences, name)) {
    const known = Object.keys(menu.sequences).join(", ") || "none";
    throw new ConfigurationError(
      `Missing commands for ${
        JSON.stringify(name)
      }: the device's ${menu.method} menu has no such sequence (it has: ${known})`,
    );
  }
  return menu.sequences[name];
}

/** LAVA's MenuConnect, MenuReset and the countdown's interrupt, for every strategy that goes through a menu. */
export const MENU_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  // The serial connection, as connect-device makes it; nothing is typed while the device may be off.
  "menu-connect": CONNECTION_ACTIONS["connect-device"],
  // Back from the menu to the console as a shell reads it: LAVA sends a newline to catch the first prompt.
  "menu-reset": async ({ ctx }) => {
    await ctx.console?.sendLine("");
  },
};

/** The sequence's labels and entries with the job's values in (LAVA's uefi-commands), a value left out an error. */
function filledSequence(ctx: JobContext, block: Block, steps: readonly MenuStep[]): MenuStep[] {
  const values = bootloaderSubstitutions(ctx, METHOD);
  const fill = (text: string) => {
    // A file or address left out would be typed as nothing, or as the placeholder itself, into the firmware.
    const missing = [...text.matchAll(/\{([A-Z_]+)\}/g)].find(([, key]) => NEEDED.has(key) && !values[key]);
    if (missing) {
      throw new JobError(
        `uefi-menu commands: ${JSON.stringify(text)} needs ${missing[0]}, which this job does not give`,
      );
    }
    // As LAVA: TEST_MENU_NAME is replaced wherever it appears, braces or not.
    return fillPlaceholders([text], values)[0].replaceAll(
      "TEST_MENU_NAME",
      `LAVA ${String(block.commands)} test image`,
    );
  };
  return steps.map((step) => ({
    ...step,
    ...(step.items ? { items: step.items.map(fill) } : {}),
    ...(step.fallback !== undefined ? { fallback: fill(step.fallback) } : {}),
    ...(step.enter !== undefined ? { enter: fill(step.enter) } : {}),
  }));
}

function uefiMenuActions(): Record<string, ActionImplementation> {
  let sequence: MenuStep[] | undefined;
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    ...MENU_ACTIONS,
    "uefi-commands": ({ ctx, block }) => {
      sequence = filledSequence(ctx, block, menuSequence(menuOf(ctx, METHOD, block), block.commands));
      ctx.log.info(`Parsed menu sequence: ${JSON.stringify(sequence)}`);
      return Promise.resolve();
    },
    "uefi-menu-interrupt": (run) => menuDriver(run, menuOf(run.ctx, METHOD, run.block)).interrupt(),
    "uefi-menu-selector": (run) => {
      const menu = menuOf(run.ctx, METHOD, run.block);
      // The menu's boot_message is left to auto-login, which waits for it instead of the kernel's first line
      // (waited for here too, it would be gone when auto-login looked for it).
      return selectFromMenu(
        run,
        menu,
        sequence ?? filledSequence(run.ctx, run.block, menuSequence(menu, run.block.commands)),
      );
    },
  };
}

/** LAVA 2023.01's uefi-menu-action (its pipeline_refs/mustang-uefi.yaml); a fastboot sequence is not power-cycled. */
export const uefiMenuBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, _job, device) => {
    const fastboot = typeof block.commands === "string" && block.commands.includes("fastboot");
    const pipeline: ActionShape[] = [
      shape(
        "uefi-commands",
        "set job-specific variables into the uefi menu commands",
        "substitute job values into uefi commands",
      ),
      ...(fastboot ? [] : [MENU_CONNECT_SHAPE, resetShape(device)]),
      UEFI_MENU_INTERRUPT_SHAPE,
      shape("uefi-menu-selector", "select specified uefi menu items", "select options in the uefi menu"),
      shape("menu-reset", "change out of menu session to a shell session", "reset to shell connection"),
      AUTO_LOGIN_SHAPE,
      EXPORT_ENV_SHAPE,
    ];
    return shape("uefi-menu-action", "interrupt and select uefi menu items", "interact with uefi menu", {
      retry: true,
      pipeline,
    });
  },
  actions: uefiMenuActions,
};

export const MENU_CONNECT_SHAPE: ActionShape = shape(
  "menu-connect",
  "change into a menu session",
  "Customise connection for menu operations",
);
export const UEFI_MENU_INTERRUPT_SHAPE: ActionShape = shape(
  "uefi-menu-interrupt",
  "interrupt for uefi menu",
  "interrupt for uefi menu",
);
