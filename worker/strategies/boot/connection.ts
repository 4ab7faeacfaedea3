/**
 * Reaching a real device: opening its console with the device's connection
 * command, and power-cycling it through its power driver; with the shapes of
 * those actions, which several boot methods share.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { Console } from "../../drivers/console.ts";
import { openConnection, parseConnection } from "../../drivers/connection.ts";
import type { ActionImplementation } from "../context.ts";
import { ConfigurationError, InfrastructureError } from "../../job/errors.ts";
import { watchKernel } from "./session.ts";

export const CONNECT_SHAPE: ActionShape = shape(
  "connect-device",
  "use the configured command to connect serial to the device",
  "run connection command",
);

export const RESET_SHAPE: ActionShape = shape("reset-device", "reboot or power-cycle the device", "reboot the device", {
  pipeline: [shape("pdu-reboot", "issue commands to a PDU to power cycle a device", "hard reboot using PDU")],
});

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
  const { transport, stderrLines } = opened;
  (async () => {
    for await (const line of stderrLines ?? []) ctx.log.debug(line);
  })().catch(() => {});
  ctx.console = new Console(transport, ctx.log);
  ctx.kernelPanic = undefined;
  watchKernel(ctx, ctx.console);
  ctx.cleanups.push(() => transport.close());
};

const pduReboot: ActionImplementation = async ({ ctx, action, signal }) => {
  ctx.poweredOff = false;
  if (!await ctx.power.reset(action.timeout * 1000, signal)) {
    ctx.log.warning("the device has no power commands: it is not reset");
  }
};

/** The implementations of connecting and resetting, for a boot strategy's table. */
export const CONNECTION_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "connect-device": connectDevice,
  "pdu-reboot": pduReboot,
};
