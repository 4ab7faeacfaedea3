/**
 * The `command` action: one of the commands the admin listed for the device
 * (`user_commands` in the dictionary), run on the worker.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { runPowerCommands } from "../drivers/power.ts";
import type { ActionImplementation } from "./context.ts";
import { JobError } from "../job/errors.ts";

const userCommand: ActionImplementation = async ({ ctx, action, block, signal }) => {
  const users = isMapping(ctx.device.commands) && isMapping(ctx.device.commands.users) ? ctx.device.commands.users : {};
  const name = String(block.name);
  const command = users[name];
  if (!isMapping(command) || typeof command.do !== "string") {
    throw new JobError(`the device has no user command "${name}" (it has: ${Object.keys(users).join(", ") || "none"})`);
  }
  await runPowerCommands(`user command ${name}`, command.do, ctx.log, action.timeout * 1000, signal);
};

export const COMMAND_ACTIONS: Record<string, ActionImplementation> = { "user-command": userCommand };
