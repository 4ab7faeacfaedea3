/**
 * LAVA's `bootloader` boot: stop at the bootloader the job names (`bootloader:
 * u-boot`, `grub`...) and type the job's own commands there, staying in the
 * bootloader afterwards — for testing the bootloader itself. Any bootloader the
 * device's configuration describes works: the driver takes its prompts from it.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { commandList, fillPlaceholders } from "../../drivers/bootloader.ts";
import { ConfigurationError } from "../../job/errors.ts";
import type { BootloaderResource } from "../../resources/device.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import {
  BOOTLOADER_COMMANDS_SHAPE,
  BOOTLOADER_INTERRUPT_SHAPE,
  BOOTLOADER_OVERLAY_SHAPE,
  bootloaderDriver,
} from "./session.ts";
import { bootloaderSubstitutions } from "./substitutions.ts";

/** The configuration of the bootloader the job names. */
function bootloaderOf(ctx: JobContext, block: Block): BootloaderResource {
  const name = String(block.bootloader);
  const config = Object.hasOwn(ctx.resources.bootloaders, name) ? ctx.resources.bootloaders[name] : undefined;
  if (!config) throw new ConfigurationError(`the device has no bootloader ${JSON.stringify(name)} to boot to`);
  return config;
}

function commands(ctx: JobContext, block: Block): string[] {
  const list = commandList(bootloaderOf(ctx, block), block.commands);
  return fillPlaceholders(list, bootloaderSubstitutions(ctx, String(block.bootloader)));
}

function bootloaderActions(): Record<string, ActionImplementation> {
  let plan: string[] | undefined;
  return {
    ...CONNECTION_ACTIONS,
    "bootloader-overlay": (run) => {
      plan = commands(run.ctx, run.block);
      run.ctx.log.info(`Parsed boot commands: ${plan.join("; ")}`);
      return Promise.resolve();
    },
    "bootloader-interrupt": (run) => bootloaderDriver(run, bootloaderOf(run.ctx, run.block)).interrupt(),
    "bootloader-commands": (run) =>
      bootloaderDriver(run, bootloaderOf(run.ctx, run.block)).run(plan ?? commands(run.ctx, run.block), {
        awaitFinal: false,
      }),
  };
}

export const bootloaderBoot: Strategy = {
  section: "boot",
  methods: ["bootloader"],
  shape: (_block, _job, device) =>
    shape("boot-bootloader-retry", "boot to bootloader with retry", "boot bootloader retry", {
      retry: true,
      pipeline: [
        BOOTLOADER_OVERLAY_SHAPE,
        shape("boot-bootloader", "boot to bootloader", "boot bootloader", {
          pipeline: [
            CONNECT_SHAPE,
            resetShape(device),
            BOOTLOADER_INTERRUPT_SHAPE,
            BOOTLOADER_COMMANDS_SHAPE,
          ],
        }),
      ],
    }),
  actions: bootloaderActions,
};
