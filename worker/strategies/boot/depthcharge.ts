/**
 * LAVA's `depthcharge` boot, for Chromebooks running the "dev" build of
 * depthcharge, whose command line can fetch a kernel over TFTP: the job's kernel
 * command line is written to a `cmdline` file beside its kernel in the job's TFTP
 * directory, the console reconnected, the machine reset, depthcharge's start
 * message awaited, then `tftpboot {SERVER_IP} {DEPTHCHARGE_KERNEL} {CMDLINE}
 * {DEPTHCHARGE_RAMDISK}` typed at its `dpch:` prompt (the FIT image when the
 * deploy packed one, else the kernel and ramdisk apart), then the login.
 */
import { dirname, join } from "../../../actors/path.ts";
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { commandList, fillPlaceholders, pattern } from "../../drivers/bootloader.ts";
import { servedName, tftpRoot } from "../../drivers/tftp_dir.ts";
import { Reader } from "../../resources/device.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, resetShape } from "./connection.ts";
import {
  BOOTLOADER_COMMANDS_SHAPE,
  bootloaderDriver,
  expectOn,
  SESSION_ACTIONS,
  shellSessionShape,
} from "./session.ts";
import { bootloaderOf, bootloaderSubstitutions } from "./substitutions.ts";

const METHOD = "depthcharge";

/** The device's depthcharge section: its parameters and named command sets (each with a `cmdline`). */
function section(ctx: JobContext): Record<string, unknown> {
  const path = ["actions", "boot", "methods", METHOD];
  const reader = new Reader(ctx.device);
  if (!isMapping(reader.at(path))) throw new ConfigurationError("the device has no actions.boot.methods.depthcharge");
  return reader.mapping(path);
}

/** The kernel command line the job boots with, as LAVA writes it into the `cmdline` file. */
function kernelCommandLine(ctx: JobContext, block: Block): string {
  const name = String(block.commands);
  const set = section(ctx)[name];
  const cmdline = isMapping(set) ? set.cmdline : undefined;
  if (typeof cmdline !== "string") throw new ConfigurationError(`No cmdline found in ${name}`);
  let line = fillPlaceholders([cmdline], bootloaderSubstitutions(ctx, METHOD))[0];
  if (typeof block.extra_kernel_args === "string") line = `${line} ${block.extra_kernel_args}`;
  // One line in a file the firmware reads whole: a line break would cut it.
  if (/[\r\n\0]/.test(line)) throw new JobError("depthcharge cmdline: the kernel command line holds a line break");
  return line.trim().replace(/\s+/g, " ");
}

function depthchargeActions(): Record<string, ActionImplementation> {
  let plan: string[] | undefined;
  const prepare = async (ctx: JobContext, block: Block): Promise<string[]> => {
    const kernel = ctx.downloads.get("kernel");
    if (!kernel) throw new JobError("depthcharge: the deploy gave no kernel");
    const cmdline = join(dirname(kernel), "cmdline");
    await Deno.writeTextFile(cmdline, kernelCommandLine(ctx, block));
    const root = tftpRoot(ctx.dispatcher);
    const fit = ctx.downloads.get("fit");
    const ramdisk = ctx.downloads.get("ramdisk");
    const values = {
      ...bootloaderSubstitutions(ctx, METHOD),
      CMDLINE: servedName(root, cmdline),
      DEPTHCHARGE_KERNEL: servedName(root, fit ?? kernel),
      // In a FIT image the ramdisk travels inside it.
      DEPTHCHARGE_RAMDISK: !fit && ramdisk ? servedName(root, ramdisk) : "",
    };
    return fillPlaceholders(commandList(bootloaderOf(ctx, METHOD), block.commands), values).map((c) => c.trimEnd());
  };
  return {
    ...CONNECTION_ACTIONS,
    ...SESSION_ACTIONS,
    "depthcharge-overlay": async ({ ctx, block }) => {
      plan = await prepare(ctx, block);
      ctx.log.info(`Parsed boot commands: ${plan.join("; ")}`);
    },
    "disconnect-device": async ({ ctx }) => {
      await ctx.console?.close();
      ctx.console = undefined;
    },
    "depthcharge-start": async (run) => {
      const parameters = section(run.ctx).parameters;
      const message = isMapping(parameters) ? parameters.start_message : undefined;
      if (typeof message !== "string" || message === "") {
        throw new ConfigurationError("Missing Depthcharge start message for device (parameters.start_message)");
      }
      await expectOn(run, [pattern(message, "depthcharge start_message")], `depthcharge's "${message}"`, undefined, {
        untilActionEnds: true,
      });
    },
    "bootloader-commands": async (run) => {
      await bootloaderDriver(run, bootloaderOf(run.ctx, METHOD)).run(plan ?? await prepare(run.ctx, run.block));
    },
  };
}

/** LAVA 2023.01's depthcharge-action (its pipeline_refs/depthcharge.yaml). */
export const depthchargeBoot: Strategy = {
  section: "boot",
  methods: [METHOD],
  shape: (block, { testHasShell }, device) =>
    shape("depthcharge-action", "interactive Depthcharge action", "sets up boot with Depthcharge", {
      pipeline: [
        shape(
          "depthcharge-overlay",
          "substitute job data into bootloader command list",
          "replace placeholders with job data",
        ),
        shape("depthcharge-retry", "interactive depthcharge retry action", "depthcharge commands with retry", {
          retry: true,
          pipeline: [
            shape("reset-connection", "Disconnect and connect the serial", "Reset the connection", {
              pipeline: [
                shape("disconnect-device", "disconnect from console", "disconnect from console"),
                CONNECT_SHAPE,
              ],
            }),
            resetShape(device),
            shape("depthcharge-start", "wait for Depthcharge to start", "Depthcharge start"),
            BOOTLOADER_COMMANDS_SHAPE,
            ...shellSessionShape(block, testHasShell),
          ],
        }),
      ],
    }),
  actions: depthchargeActions,
};
