/**
 * LAVA's `u-boot` boot: connect, power-cycle, interrupt U-Boot, type the command
 * set the job names with its placeholders filled (load addresses, the files the
 * deploy put in the TFTP directory, the worker's address), and wait for the kernel.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { commandList, fillPlaceholders } from "../../drivers/bootloader.ts";
import type { BootloaderResource } from "../../resources/device.ts";
import { ConfigurationError } from "../../job/errors.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import { bootloaderDriver, SESSION_ACTIONS, shellSessionShape } from "./session.ts";
import { bootloaderSubstitutions } from "./substitutions.ts";

const METHOD = "u-boot";

function bootloaderOf(ctx: JobContext): BootloaderResource {
  const config = ctx.resources.bootloaders[METHOD];
  if (!config) throw new ConfigurationError(`the device has no actions.boot.methods.${METHOD}: it cannot boot with it`);
  return config;
}

/** The job's U-Boot commands with `{KERNEL_ADDR}`-style placeholders filled in. */
function ubootCommands(ctx: JobContext, block: Block): string[] {
  return fillPlaceholders(commandList(bootloaderOf(ctx), block.commands), bootloaderSubstitutions(ctx, METHOD));
}

/** The actions of one u-boot block: the commands, filled in once, pass from the overlay to the commands. */
function ubootActions(): Record<string, ActionImplementation> {
  let plan: string[] | undefined;
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    "bootloader-overlay": ({ ctx, block }) => {
      plan = ubootCommands(ctx, block);
      ctx.log.info(`Parsed boot commands: ${plan.join("; ")}`);
      return Promise.resolve();
    },
    "bootloader-interrupt": (run) => bootloaderDriver(run, bootloaderOf(run.ctx)).interrupt(),
    "bootloader-commands": (run) =>
      bootloaderDriver(run, bootloaderOf(run.ctx)).run(plan ?? ubootCommands(run.ctx, run.block)),
  };
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
        shape(
          "bootloader-overlay",
          "substitute job data into bootloader command list",
          "replace placeholders with job data",
        ),
        CONNECT_SHAPE,
        shape("uboot-commands", "interactive uboot commands action", "uboot commands", {
          pipeline: [
            resetShape(device),
            shape("bootloader-interrupt", "interrupt bootloader", "interrupt bootloader to get an interactive shell"),
            shape("bootloader-commands", "send commands to bootloader", "interactive bootloader"),
            ...shellSessionShape(block, testHasShell),
          ],
        }),
      ],
    }),
  actions: ubootActions,
};
