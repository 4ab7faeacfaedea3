/**
 * What every boot ends with: waiting on the console (a kernel panic fails the
 * wait), reading the kernel's messages as LAVA does until the login or shell
 * prompt, logging in when the job says how, and a shell with LAVA's prompt; and
 * the shape of those actions in LAVA's pipeline.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { BootloaderDriver, pattern } from "../../drivers/bootloader.ts";
import { join } from "../../../actors/path.ts";
import { bootloaderOf, serverIp } from "./substitutions.ts";
import { serveFile } from "../../drivers/file_http.ts";
import { listenAddress } from "../../drivers/free_port.ts";
import type { BootloaderResource } from "../../resources/device.ts";
import { type Console, ConsoleClosed, ExpectTimeout } from "../../drivers/console.ts";
import type { ActionImplementation, ActionRun, Block, JobContext } from "../context.ts";
import { ConnectionClosedError, InfrastructureError, JobError } from "../../job/errors.ts";
import {
  KERNEL_MESSAGES,
  type KernelMessage,
  kernelMessagesResult,
  kindOf,
  messageText,
} from "../../drivers/kernel_messages.ts";
import { overlayTarball } from "../../overlay/tarball.ts";

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

const ACTION_TIMER_GRACE_MS = 1000;

/**
 * Waits for one of `patterns`, turning console trouble into LAVA's error classes.
 * A kernel panic fails the wait unless `panics` is false (the kernel-messages
 * wait classifies panics itself, and a job may ignore kernel messages).
 */
export async function expectOn(
  run: ActionRun,
  patterns: (string | RegExp)[],
  what: string,
  timeoutMs?: number,
  options: { panics?: boolean; untilActionEnds?: boolean } = {},
) {
  const { ctx } = run;
  const panics = options.panics ?? true;
  const console = ctx.console;
  if (!console) throw new InfrastructureError(`${run.action.name}: no connection to the device`);
  // A wait for the rest of the action outlasts it a little, so that the action's own
  // timer ends it and the timeout is classified as the action's (dispatch/execute.ts).
  const limit = options.untilActionEnds
    ? run.remainingMs() + ACTION_TIMER_GRACE_MS
    : Math.max(1, Math.min(timeoutMs ?? run.action.connectionTimeout * 1000, run.remainingMs()));
  try {
    const match = await console.expect(panics ? [...patterns, KERNEL_PANIC] : patterns, limit, run.signal);
    if (panics && match.index === patterns.length) {
      throw new JobError(`kernel panic while waiting for ${what}: ${match.match[0]}`);
    }
    return match;
  } catch (error) {
    if (error instanceof ExpectTimeout) {
      if (panics && ctx.kernelPanic) throw new JobError(`kernel panic while waiting for ${what}: ${ctx.kernelPanic}`);
      throw new JobError(`${run.action.name}: timed out after ${Math.round(limit / 1000)} s waiting for ${what}`);
    }
    if (error instanceof ConsoleClosed) {
      if (panics && ctx.kernelPanic) throw new JobError(`kernel panic while waiting for ${what}: ${ctx.kernelPanic}`);
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
  if (block.prompts !== undefined || block.auto_login !== undefined) shapes.push(AUTO_LOGIN_SHAPE);
  if (block.prompts !== undefined && testHasShell) {
    shapes.push(
      EXPECT_SHELL_SHAPE,
      ...(block.transfer_overlay !== undefined
        ? [shape(
          "overlay-unpack",
          "transfer and unpack overlay to persistent rootfs after login",
          "transfer and unpack overlay",
        )]
        : []),
      EXPORT_ENV_SHAPE,
    );
  }
  return shapes;
}

/** LAVA's auto-login-action with its login-action. */
export const AUTO_LOGIN_SHAPE: ActionShape = shape(
  "auto-login-action",
  "automatically login after boot using job parameters and checking for messages.",
  "Auto-login after boot with support for kernel messages.",
  { retry: true, pipeline: [shape("login-action", "Real login action.", "Login after boot.")] },
);
export const EXPECT_SHELL_SHAPE: ActionShape = shape(
  "expect-shell-connection",
  "Wait for a shell",
  "Expect a shell prompt",
);
export const EXPORT_ENV_SHAPE: ActionShape = shape(
  "export-device-env",
  "Exports environment variables to the device",
  "Exports environment variables action",
);

export function promptsOf(block: Record<string, unknown>): string[] {
  const prompts = block.prompts;
  return Array.isArray(prompts) ? prompts.map(String) : typeof prompts === "string" ? [prompts] : [];
}

/**
 * LAVA's kernel-messages wait: until one of `targets` shows, each kernel message
 * (kernel_messages.ts) is read to its end and recorded; a panic or a board reset —
 * or the job's own `failure_message` — ends the boot as the job's error. With
 * `ignore_kernel_messages: true` nothing is read, a deliberate panic included.
 * Returns the target that matched.
 */
async function waitPastKernelMessages(run: ActionRun, targets: string[], what: string): Promise<string> {
  const { ctx, block } = run;
  const failure = typeof block.failure_message === "string" ? block.failure_message : undefined;
  const awaited = failure ? [...targets, failure] : targets;
  const isFailure = (index: number) => failure !== undefined && index === awaited.length - 1;
  if (block.ignore_kernel_messages === true) {
    ctx.log.debug("Skipping kernel messages: ignore_kernel_messages is set");
    const match = await expectOn(run, awaited, what, undefined, { panics: false });
    if (isFailure(match.index)) throw new JobError(`Matched job-specific failure message: '${failure}'`);
    return awaited[match.index];
  }
  ctx.log.info("Parsing kernel messages");
  const started = performance.now();
  const starts = KERNEL_MESSAGES.map((k) => k.start);
  const found: KernelMessage[] = [];
  let halt: string | undefined;
  let matched = "";
  while (true) {
    const match = await expectOn(run, [...starts, ...awaited], what, undefined, { panics: false });
    if (match.index >= starts.length) {
      const index = match.index - starts.length;
      if (isFailure(index)) {
        halt = `Matched job-specific failure message: '${failure}'`;
        ctx.log.error(`${run.action.name} ${halt}`);
        found.push({ kind: "failure_message", message: failure! });
      }
      matched = awaited[index];
      break;
    }
    const kind = KERNEL_MESSAGES[match.index];
    const lineStart = match.before.slice(Math.max(match.before.lastIndexOf("\n") + 1, match.before.length - 1024));
    let text = match.match[0];
    try {
      const end = await expectOn(run, [kind.end, ...awaited], "the end of a kernel message", undefined, {
        panics: false,
      });
      text += end.before + (end.index === 0 ? end.match[0] : "");
      if (end.index !== 0) ctx.log.warning("Unable to match end of the kernel message");
    } catch (error) {
      // A kernel that panics may stop the console before its last line.
      if (!kind.fatal) throw error;
    }
    const message = messageText(lineStart, text);
    const name = kindOf(match.index, message);
    found.push({ kind: name, message });
    if (kind.fatal) {
      ctx.log.error(`${run.action.name} kernel '${name}'`);
      halt = `kernel ${name}: ${message.split("\n").find((l) => kind.start.test(l)) ?? message.split("\n")[0]}`;
      break;
    }
    ctx.log.warning(`${run.action.name}: kernel '${name}'`);
  }
  if (found.length > 0) ctx.log.warning("Kernel warnings or errors detected.");
  const namespace = typeof block.namespace === "string" ? block.namespace : "common";
  const seconds = (performance.now() - started) / 1000;
  ctx.log.results(kernelMessagesResult(found, halt !== undefined, run.action.level, seconds, namespace));
  if (halt) throw new JobError(halt);
  return matched;
}

const loginAction: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const prompts = promptsOf(block);
  ctx.prompts = prompts;
  const login = isMapping(block.auto_login) ? block.auto_login : undefined;
  if (login) {
    await waitPastKernelMessages(run, [String(login.login_prompt)], `the login prompt "${login.login_prompt}"`);
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
  if (prompts.length === 0) return;
  const what = `a shell prompt (${prompts.join(" or ")})`;
  // Without a login, the kernel's messages come before the prompt.
  if (login) await expectOn(run, prompts, what);
  else await waitPastKernelMessages(run, prompts, what);
};

const expectShell: ActionImplementation = async (run) => {
  const { ctx } = run;
  if (ctx.prompts.length === 0) return;
  await ctx.console!.sendLine("");
  await expectOn(run, ctx.prompts, `a shell prompt (${ctx.prompts.join(" or ")})`);
};

/**
 * LAVA's overlay-unpack (`transfer_overlay`), for roots the dispatcher does not
 * write (an NBD image, an installed system): after login, the device is told to
 * fetch the overlay from the worker over HTTP (`download_command URL`) and to
 * unpack it (`unpack_command overlay.tar.gz`). Unlike LAVA, the unpacking's exit
 * status is read back: an overlay that did not arrive fails here, naming why,
 * rather than at the first test.
 */
const overlayUnpack: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const transfer = isMapping(block.transfer_overlay) ? block.transfer_overlay : {};
  const method = transfer.transfer_method ?? "http";
  if (method !== "http") {
    throw new JobError(`transfer_overlay transfer_method: ${JSON.stringify(method)} is not supported yet (http is)`);
  }
  if (!ctx.overlay) throw new JobError("No overlay file identified for the transfer.");
  for (const key of ["download_command", "unpack_command"]) {
    const command = transfer[key];
    if (typeof command !== "string" || command.trim() === "" || /[\r\n]/.test(command)) {
      throw new JobError(`transfer_overlay ${key}: ${JSON.stringify(command)} is not one command line`);
    }
  }
  const archive = join(await Deno.makeTempDir({ dir: ctx.workDir, prefix: "transfer-" }), "overlay.tar.gz");
  await overlayTarball(ctx.overlay.root, archive);
  const advertised = serverIp(ctx, "http");
  const served = serveFile(archive, listenAddress(advertised), advertised);
  const prompts = ctx.prompts;
  const typed = async (line: string) => {
    await ctx.console!.sendLine(line);
    await expectOn(run, prompts, `a shell prompt after "${line}"`);
  };
  try {
    await typed("rm overlay.tar.gz");
    await typed(`${transfer.download_command} ${served.url}`);
    const status = await exitStatusOf(run, `${transfer.unpack_command} overlay.tar.gz`, "overlay-unpack");
    if (status !== 0) {
      throw new JobError(
        `overlay-unpack: "${transfer.unpack_command} overlay.tar.gz" exited ${status}` +
          (served.fetches() === 0 ? ` (the device never fetched ${served.url})` : ""),
      );
    }
  } finally {
    await served.close();
  }
  ctx.overlayOnDevice = true;
  ctx.log.info(`The overlay was fetched by the device and unpacked (${served.fetches()} fetch)`);
};

/**
 * Runs `command` in the device's shell and reads its exit status back (LAVA types such commands and trusts them;
 * a failed unpack would otherwise only show at the first test), then waits for the prompt.
 */
export async function exitStatusOf(run: ActionRun, command: string, tag: string): Promise<number> {
  const { ctx } = run;
  await ctx.console!.sendLine(`${command}; echo "${tag}: $?"`);
  const status = await expectOn(run, [new RegExp(`${tag}: (\\d+)`)], `the exit status of "${command}"`);
  await expectOn(run, ctx.prompts, `a shell prompt after "${command}"`);
  return Number(status.match[1]);
}

/** Sets the shell prompt LAVA uses, so later commands can wait on one known prompt. */
const exportDeviceEnv: ActionImplementation = async (run) => {
  const { ctx } = run;
  // No prompt, no shell to set one in (a uefi-menu boot has this action whether the job waits for a shell or not).
  if (ctx.prompts.length === 0) return;
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
  "overlay-unpack": overlayUnpack,
  "export-device-env": exportDeviceEnv,
};

/** The bootloader driver for `config` on the job's console, reading it as this action (its timeout, its log). */
export function bootloaderDriver(run: ActionRun, config: BootloaderResource): BootloaderDriver {
  const { ctx } = run;
  if (!ctx.console) throw new JobError(`${run.action.name}: no connection to the device`);
  // As LAVA's bootloader actions, each wait may take what is left of the action's time.
  const expect = (patterns: readonly (string | RegExp)[], what: string) =>
    expectOn(run, [...patterns], what, undefined, { untilActionEnds: true });
  return new BootloaderDriver(config, ctx.console, expect, {
    characterDelayMs: ctx.characterDelay("boot"),
    signal: run.signal,
  });
}

/** The shapes of the three actions bootloaderCommandActions implements, as every bootloader method's tree has them. */
export const BOOTLOADER_OVERLAY_SHAPE: ActionShape = shape(
  "bootloader-overlay",
  "substitute job data into bootloader command list",
  "replace placeholders with job data",
);
export const BOOTLOADER_INTERRUPT_SHAPE: ActionShape = shape(
  "bootloader-interrupt",
  "interrupt bootloader",
  "interrupt bootloader to get an interactive shell",
);
export const BOOTLOADER_COMMANDS_SHAPE: ActionShape = shape(
  "bootloader-commands",
  "send commands to bootloader",
  "interactive bootloader",
);

/**
 * A typed-commands boot's three bootloader actions for `method`: bootloader-overlay
 * fills the commands once (`commandsOf`) and logs them, bootloader-interrupt stops
 * the autoboot, bootloader-commands types them.
 */
export function bootloaderCommandActions(
  method: string,
  commandsOf: (ctx: JobContext, block: Block) => string[],
): Record<string, ActionImplementation> {
  let plan: string[] | undefined;
  return {
    "bootloader-overlay": ({ ctx, block }) => {
      plan = commandsOf(ctx, block);
      ctx.log.info(`Parsed boot commands: ${plan.join("; ")}`);
      return Promise.resolve();
    },
    "bootloader-interrupt": (run) => bootloaderDriver(run, bootloaderOf(run.ctx, method)).interrupt(),
    "bootloader-commands": (run) =>
      bootloaderDriver(run, bootloaderOf(run.ctx, method)).run(plan ?? commandsOf(run.ctx, run.block)),
  };
}
