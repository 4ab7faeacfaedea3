/**
 * The `command` action: one of the commands the admin listed for the device
 * (`user_commands` in the dictionary, with the `undo` run when the job ends), or
 * one of the device's own commands (power, pre-power, recovery), run on the worker.
 */
import { shape } from "../../actors/definitions/pipeline.ts";
import { runPowerCommands } from "../drivers/power.ts";
import type { ActionImplementation } from "./context.ts";
import type { Strategy } from "./strategy.ts";
import { JobError } from "../job/errors.ts";

const userCommand: ActionImplementation = async ({ ctx, action, block, signal }) => {
  const name = String(block.name);
  const timeoutMs = action.timeout * 1000;
  const builtin = Object.hasOwn(ctx.resources.builtinCommands, name) ? ctx.resources.builtinCommands[name] : undefined;
  if (builtin) {
    ctx.log.info(`Running user command '${name}'`);
    await runPowerCommands(`command ${name}`, builtin, ctx.log, timeoutMs, signal);
    return;
  }
  const users = ctx.resources.userCommands;
  const command = Object.hasOwn(users, name) ? users[name] : undefined;
  if (command === undefined) {
    throw new JobError(`the device has no user command "${name}" (it has: ${Object.keys(users).join(", ") || "none"})`);
  }
  ctx.log.info(`Running user command '${name}'`);
  // Once `do` has started, its `undo` runs when the job ends, whatever happens in between, as LAVA's cleanup.
  const undo = command.undo;
  if (undo !== undefined) {
    ctx.cleanups.push(async () => {
      ctx.log.info(`Running cleanup for user command '${name}'`);
      await runPowerCommands(`undo ${name}`, undo, ctx.log, timeoutMs);
    });
  }
  await runPowerCommands(`user command ${name}`, command.do, ctx.log, timeoutMs, signal);
};

export const userCommandAction: Strategy = {
  section: "command",
  methods: ["command"],
  shape: () =>
    shape("user-command", "execute one of the commands listed by the admin", "execute commands as a dispatcher action"),
  actions: () => ({ "user-command": userCommand }),
};
