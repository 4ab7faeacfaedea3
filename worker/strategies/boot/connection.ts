/**
 * Reaching a real device: opening its console with the device's connection
 * command, running the device's pre-power and pre-OS commands, and resetting it —
 * power-cycled through its power driver when it has a hard reset command, else
 * rebooted by commands typed on its console, as LAVA does; with the shapes of
 * those actions, which several boot methods share.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { Console } from "../../drivers/console.ts";
import { openConnection, type OpenedConnection, parseConnection } from "../../drivers/connection.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { pattern } from "../../drivers/bootloader.ts";
import { runPowerCommands } from "../../drivers/power.ts";
import type { DeviceResources } from "../../resources/device.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import { ConfigurationError, InfrastructureError, JobError } from "../../job/errors.ts";
import { expectOn, watchKernel } from "./session.ts";

export const CONNECT_SHAPE: ActionShape = shape(
  "connect-device",
  "use the configured command to connect serial to the device",
  "run connection command",
);

/** LAVA's reset: a PDU power cycle when the device has a hard reset command, else a soft reboot. */
export function resetShape(device: DeviceResources): ActionShape {
  return shape("reset-device", "reboot or power-cycle the device", "reboot the device", {
    pipeline: [
      device.power.hardReset.length > 0
        ? shape("pdu-reboot", "issue commands to a PDU to power cycle a device", "hard reboot using PDU")
        : shape("send-reboot-commands", "Issue a reboot command on the device", "Issue a reboot command on the device"),
    ],
  });
}

/** The job's `pre_power_command: true` and `pre_os_command: true`: the device's commands, run on the worker. */
export function preCommandShapes(block: Block): ActionShape[] {
  return [
    ...(block.pre_power_command
      ? [shape("pre-power-command", "issue pre power command", "send pre-power-command")]
      : []),
    ...(block.pre_os_command ? [shape("pre-os-command", "issue pre os command", "send pre-os-command")] : []),
  ];
}

/** The commands a soft reboot types when neither the job nor the device says, as LAVA's. */
const DEFAULT_REBOOT_COMMANDS = ["reboot", "reboot -n", "reboot -nf"];

const connectDevice: ActionImplementation = async ({ ctx }) => {
  const command = ctx.resources.connect;
  if (command === undefined) {
    throw new ConfigurationError("the device has no commands.connect (connection_command): nothing to connect to");
  }
  let connection;
  try {
    connection = parseConnection(command);
  } catch (error) {
    throw new ConfigurationError((error as Error).message);
  }
  await ctx.console?.close();
  ctx.log.info(`connect-device Connecting to device using '${command}'`);
  let opened;
  try {
    opened = await openConnection(connection);
  } catch (error) {
    throw new InfrastructureError(`cannot connect to the device with '${command}': ${(error as Error).message}`);
  }
  useConnection(ctx, opened);
};

/** Makes `opened` the job's console (its stderr into the log, kernel panics watched, closed when the job ends). */
export function useConnection(ctx: JobContext, opened: OpenedConnection): void {
  const { transport, stderrLines } = opened;
  (async () => {
    for await (const line of stderrLines ?? []) ctx.log.debug(line);
  })().catch(() => {});
  ctx.console = new Console(transport, ctx.log);
  ctx.kernelPanic = undefined;
  watchKernel(ctx, ctx.console);
  ctx.cleanups.push(() => transport.close());
}

const pduReboot: ActionImplementation = async ({ ctx, action, signal }) => {
  ctx.poweredOff = false;
  if (!await ctx.power.reset(action.timeout * 1000, signal)) {
    ctx.log.warning("the device has no power commands: it is not reset");
  }
};

/** Types the reboot commands on the device's shell and waits for its shutdown message. */
const sendRebootCommands: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  if (!ctx.console) throw new JobError("send-reboot-commands: no connection to the device");
  const fromJob = typeof block.soft_reboot === "string"
    ? [block.soft_reboot]
    : Array.isArray(block.soft_reboot)
    ? block.soft_reboot.map(String)
    : undefined;
  const commands = fromJob ??
    (ctx.resources.power.softReboot.length > 0 ? ctx.resources.power.softReboot : DEFAULT_REBOOT_COMMANDS);
  if (!fromJob && ctx.resources.power.softReboot.length === 0) {
    ctx.log.warning("No soft reboot command defined in the test job. Using defaults.");
  }
  const parameters = isMapping(block.parameters) ? block.parameters : {};
  const message = typeof parameters["shutdown-message"] === "string"
    ? parameters["shutdown-message"]
    : ctx.resources.shutdownMessage;
  ctx.poweredOff = false;
  for (const command of commands) await ctx.console.sendLine(command, { signal: run.signal });
  try {
    await expectOn(run, [pattern(message, "shutdown-message")], `the shutdown message "${message}"`);
  } catch (error) {
    if (error instanceof JobError) throw new JobError(`Soft reboot failed: ${error.message}`);
    throw error;
  }
};

/** Runs one of the device's commands on the worker (`pre_power_command`, `pre_os_command`). */
function deviceCommand(what: string, commands: (ctx: JobContext) => readonly string[]): ActionImplementation {
  return async ({ ctx, action, signal }) => {
    const list = commands(ctx);
    if (list.length === 0) {
      ctx.log.warning(`The device has no ${what}: nothing to run`);
      return;
    }
    ctx.log.info(`Running ${what}`);
    await runPowerCommands(what, list, ctx.log, action.timeout * 1000, signal);
  };
}

/** The implementations of connecting and resetting, for a boot strategy's table. */
export const CONNECTION_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "connect-device": connectDevice,
  "pdu-reboot": pduReboot,
  "send-reboot-commands": sendRebootCommands,
  "pre-power-command": deviceCommand("pre power command", (ctx) => ctx.resources.power.prePower),
  "pre-os-command": deviceCommand("pre os command", (ctx) => ctx.resources.power.preOs),
};
