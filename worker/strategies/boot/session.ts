/**
 * What every boot ends with: waiting on the console (a kernel panic fails the
 * wait), logging in when the job says how, and a shell with LAVA's prompt; and
 * the shape of those actions in LAVA's pipeline.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { pattern } from "../../drivers/bootloader.ts";
import { type Console, ConsoleClosed, ExpectTimeout } from "../../drivers/console.ts";
import type { ActionImplementation, ActionRun, Block, JobContext } from "../context.ts";
import { ConnectionClosedError, InfrastructureError, JobError } from "../../job/errors.ts";

const KERNEL_PANIC =
  /Kernel panic - not syncing|---\[ end Kernel panic|Internal error: Oops|BUG: unable to handle|general protection fault/;

/** Watches the console for kernel panics; a panic fails whatever waits on the console. */
export function watchKernel(ctx: JobContext, console: Console): void {
  console.watch(KERNEL_PANIC, (line) => {
    if (ctx.kernelPanic) return;
    ctx.kernelPanic = line;
    ctx.log.error(`kernel error detected: ${line}`);
  });
}

/** Waits for one of `patterns`, turning console trouble into LAVA's error classes. */
export async function expectOn(run: ActionRun, patterns: (string | RegExp)[], what: string, timeoutMs?: number) {
  const { ctx } = run;
  const console = ctx.console;
  if (!console) throw new InfrastructureError(`${run.action.name}: no connection to the device`);
  const limit = Math.max(1, Math.min(timeoutMs ?? run.action.connectionTimeout * 1000, run.remainingMs()));
  try {
    const match = await console.expect([...patterns, KERNEL_PANIC], limit, run.signal);
    if (match.index === patterns.length) {
      throw new JobError(`kernel panic while waiting for ${what}: ${match.match[0]}`);
    }
    return match;
  } catch (error) {
    if (error instanceof ExpectTimeout) {
      if (ctx.kernelPanic) throw new JobError(`kernel panic while waiting for ${what}: ${ctx.kernelPanic}`);
      throw new JobError(`${run.action.name}: timed out after ${Math.round(limit / 1000)} s waiting for ${what}`);
    }
    if (error instanceof ConsoleClosed) {
      if (ctx.kernelPanic) throw new JobError(`kernel panic while waiting for ${what}: ${ctx.kernelPanic}`);
      throw new ConnectionClosedError(
        `${run.action.name}: the connection to the device closed while waiting for ${what}`,
      );
    }
    throw error;
  }
}

/**
 * LAVA's login and shell actions for a boot block that has prompts or auto_login;
 * the shell's own actions only when a test of the job runs a shell (LAVA's `test_has_shell`).
 */
export function shellSessionShape(block: Block, testHasShell: boolean): ActionShape[] {
  const shapes: ActionShape[] = [];
  if (block.prompts !== undefined || block.auto_login !== undefined) {
    shapes.push(
      shape(
        "auto-login-action",
        "automatically login after boot using job parameters and checking for messages.",
        "Auto-login after boot with support for kernel messages.",
        { retry: true, pipeline: [shape("login-action", "Real login action.", "Login after boot.")] },
      ),
    );
  }
  if (block.prompts !== undefined && testHasShell) {
    shapes.push(
      shape("expect-shell-connection", "Wait for a shell", "Expect a shell prompt"),
      shape("export-device-env", "Exports environment variables to the device", "Exports environment variables action"),
    );
  }
  return shapes;
}

export function promptsOf(block: Record<string, unknown>): string[] {
  const prompts = block.prompts;
  return Array.isArray(prompts) ? prompts.map(String) : typeof prompts === "string" ? [prompts] : [];
}

const loginAction: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const prompts = promptsOf(block);
  ctx.prompts = prompts;
  const login = isMapping(block.auto_login) ? block.auto_login : undefined;
  if (login) {
    await expectOn(run, [String(login.login_prompt)], `the login prompt "${login.login_prompt}"`);
    await ctx.console!.sendLine(String(login.username));
    if (login.password_prompt !== undefined) {
      await expectOn(run, [String(login.password_prompt)], `the password prompt "${login.password_prompt}"`);
      await ctx.console!.send(`${login.password}\n`, { log: false });
      ctx.log.input("******");
    }
    for (const command of Array.isArray(login.login_commands) ? login.login_commands : []) {
      await ctx.console!.sendLine(String(command));
    }
  }
  if (prompts.length > 0) await expectOn(run, prompts, `a shell prompt (${prompts.join(" or ")})`);
};

const expectShell: ActionImplementation = async (run) => {
  const { ctx } = run;
  if (ctx.prompts.length === 0) return;
  await ctx.console!.sendLine("");
  await expectOn(run, ctx.prompts, `a shell prompt (${ctx.prompts.join(" or ")})`);
};

/** Sets the shell prompt LAVA uses, so later commands can wait on one known prompt. */
const exportDeviceEnv: ActionImplementation = async (run) => {
  const { ctx } = run;
  const prompt = ctx.resources.shellPrompt;
  await ctx.console!.sendLine(`export PS1='${prompt.replaceAll("'", "'\\''")}'`);
  await expectOn(run, [prompt], `the prompt "${prompt}"`);
  ctx.prompts = [prompt];
};

/**
 * LAVA's auto-login: the kernel starting is awaited first (the job's
 * `parameters: kernel-start-message`, else the device's; a bootloader's deprecated
 * `boot_message` wins), a bootloader error message instead failing the boot as the
 * lab's; then the login itself.
 */
const autoLogin: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const method = typeof block.method === "string" ? block.method : "";
  const bootloader = Object.hasOwn(ctx.resources.bootloaders, method) ? ctx.resources.bootloaders[method] : undefined;
  const parameters = isMapping(block.parameters) ? block.parameters : {};
  let message = typeof parameters["kernel-start-message"] === "string"
    ? parameters["kernel-start-message"]
    : ctx.resources.kernelStartMessage;
  if (bootloader?.bootMessage) {
    ctx.log.warning("boot_message is being deprecated in favour of kernel-start-message in constants");
    message = bootloader.bootMessage;
  }
  if (message) {
    const errors = (bootloader?.errorMessages ?? []).map((e) => pattern(e, `constants.${method}.error-messages`));
    const match = await expectOn(run, [pattern(message, "kernel-start-message"), ...errors], "the kernel to start");
    if (match.index > 0) throw new InfrastructureError(`matched a bootloader error message: '${match.match[0]}'`);
  }
  await run.children();
};

/** The implementations of the session's actions, for a boot strategy's table. */
export const SESSION_ACTIONS: Readonly<Record<string, ActionImplementation>> = {
  "auto-login-action": autoLogin,
  "login-action": loginAction,
  "expect-shell-connection": expectShell,
  "export-device-env": exportDeviceEnv,
};
