/**
 * LAVA's `u-boot` boot: connect, power-cycle, interrupt U-Boot, type the command
 * set the job names with its placeholders filled (load addresses, the files the
 * deploy put in the TFTP directory, the worker's address), and wait for the kernel.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { BootloaderDriver, commandList, fillPlaceholders } from "../../drivers/bootloader.ts";
import type { BootloaderResource } from "../../resources/device.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import type { ActionImplementation, ActionRun, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import { expectOn, SESSION_ACTIONS, shellSessionShape } from "./session.ts";

const METHOD = "u-boot";

/** U-Boot's boot command for each kernel type a deploy may name. */
const IMAGE_TYPES: Readonly<Record<string, string>> = { bootz: "zimage", booti: "image", bootm: "uimage" };

/** The boot command: the one the job's kernel `type` calls for, else the first the device gives addresses for. */
function bootCommandFor(ctx: JobContext): string {
  const deploys = (Array.isArray(ctx.job.actions) ? ctx.job.actions : [])
    .map((a) => isMapping(a) && isMapping(a.deploy) ? a.deploy : undefined)
    .filter((d): d is Record<string, unknown> => d !== undefined);
  for (const deploy of deploys.reverse()) {
    const type = isMapping(deploy.kernel) ? deploy.kernel.type : undefined;
    const command = Object.keys(IMAGE_TYPES).find((b) => IMAGE_TYPES[b] === type);
    if (command) return command;
  }
  return Object.keys(IMAGE_TYPES).find((b) => ctx.resources.loadAddresses[b]) ?? "bootz";
}

function bootloaderOf(ctx: JobContext): BootloaderResource {
  const config = ctx.resources.bootloaders[METHOD];
  if (!config) throw new ConfigurationError(`the device has no actions.boot.methods.${METHOD}: it cannot boot with it`);
  return config;
}

/** The job's U-Boot commands with `{KERNEL_ADDR}`-style placeholders filled in. */
function ubootCommands(ctx: JobContext, block: Block): string[] {
  const list = commandList(bootloaderOf(ctx), block.commands);
  const bootx = bootCommandFor(ctx);
  const addresses = ctx.resources.loadAddresses[bootx] ?? {};
  // Paths as the TFTP server sees them: relative to its root when the worker has
  // one (dispatcher.yaml `tftp_root`), else absolute.
  const tftpRoot = typeof ctx.dispatcher.tftp_root === "string"
    ? ctx.dispatcher.tftp_root.replace(/\/+$/, "")
    : undefined;
  const file = (key: string) => {
    const path = ctx.downloads.get(key);
    if (!path) return "";
    return tftpRoot && path.startsWith(`${tftpRoot}/`) ? path.slice(tftpRoot.length + 1) : path;
  };
  return fillPlaceholders(list, {
    SERVER_IP: String(ctx.dispatcher.dispatcher_ip ?? "127.0.0.1"),
    KERNEL_ADDR: addresses.kernel ?? "",
    RAMDISK_ADDR: addresses.ramdisk ?? "",
    DTB_ADDR: addresses.dtb ?? "",
    TEE_ADDR: addresses.tee ?? "",
    KERNEL: file("kernel"),
    RAMDISK: file("ramdisk") || file("initrd"),
    DTB: file("dtb"),
    TEE: file("tee"),
    BOOTX: `${bootx} ${addresses.kernel ?? ""} ${file("ramdisk") ? addresses.ramdisk : "-"} ${addresses.dtb ?? ""}`
      .trim(),
    LAVA_JOB_ID: ctx.jobId,
  });
}

function driver(run: ActionRun): BootloaderDriver {
  const { ctx } = run;
  if (!ctx.console) throw new JobError(`${run.action.name}: no connection to the device`);
  return new BootloaderDriver(
    bootloaderOf(ctx),
    ctx.console,
    (patterns, what) => expectOn(run, [...patterns], what),
    { characterDelayMs: ctx.characterDelay("boot"), signal: run.signal },
  );
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
    "bootloader-interrupt": (run) => driver(run).interrupt(),
    "bootloader-commands": (run) => driver(run).run(plan ?? ubootCommands(run.ctx, run.block)),
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
