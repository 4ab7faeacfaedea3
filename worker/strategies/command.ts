/**
 * The `command` action: one of the commands the admin listed for the device
 * (`user_commands` in the dictionary), run on the worker.
 */
import { shape } from "../../actors/definitions/pipeline.ts";
import { runPowerCommands } from "../drivers/power.ts";
import type { ActionImplementation } from "./context.ts";
import type { Strategy } from "./strategy.ts";
import { JobError } from "../job/errors.ts";

const userCommand: ActionImplementation = async ({ ctx, action, block, signal }) => {
  const users = ctx.resources.userCommands;
  const name = String(block.name);
  const command = Object.hasOwn(users, name) ? users[name] : undefined;
  if (command === undefined) {
    throw new JobError(`the device has no user command "${name}" (it has: ${Object.keys(users).join(", ") || "none"})`);
  }
  await runPowerCommands(`user command ${name}`, command, ctx.log, action.timeout * 1000, signal);
};

export const userCommandAction: Strategy = {
  section: "command",
  methods: ["command"],
  shape: () =>
    shape("user-command", "execute one of the commands listed by the admin", "execute commands as a dispatcher action"),
  actions: () => ({ "user-command": userCommand }),
};
