/** Every action Basalt's dispatcher implements, by LAVA action name. */
import type { ActionImplementation } from "./context.ts";
import { BOOT_ACTIONS } from "./boot/actions.ts";
import { COMMAND_ACTIONS } from "./command.ts";
import { DEPLOY_ACTIONS } from "./deploy/actions.ts";
import { FINALIZE_ACTIONS } from "./finalize.ts";
import { TEST_ACTIONS } from "./test/shell.ts";

export const ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  ...DEPLOY_ACTIONS,
  ...BOOT_ACTIONS,
  ...TEST_ACTIONS,
  ...FINALIZE_ACTIONS,
  ...COMMAND_ACTIONS,
};
