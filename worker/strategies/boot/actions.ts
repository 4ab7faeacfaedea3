/**
 * Boot actions: start QEMU for a virtual device, or connect to a real device's
 * console and power-cycle it; interrupt U-Boot and send its commands; then log in
 * and wait for a shell. Kernel panics and oopses seen on the console fail the boot.
 */
import { isMapping } from "../../../actors/definitions/schema.ts";
import { Console, ConsoleClosed, ExpectTimeout } from "../../drivers/console.ts";
import { runPowerCommands } from "../../drivers/power.ts";
import { processConsole } from "../../drivers/transports.ts";
import { openConnection, parseConnection } from "../../drivers/connection.ts";
import type { ActionImplementation, ActionRun, JobContext } from "../context.ts";
import { ConfigurationError, ConnectionClosedError, InfrastructureError, JobError } from "../../job/errors.ts";
import { checkSelfContainedImage } from "../../drivers/disk_images.ts";

const KERNEL_PANIC =
  /Kernel panic - not syncing|---\[ end Kernel panic|Internal error: Oops|BUG: unable to handle|general protection fault/;

/** Watches the console for kernel panics; a panic fails whatever waits on the console. */
function watchKernel(ctx: JobContext, console: Console): void {
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

// --- QEMU ------------------------------------------------------------------

/** QEMU's argv from the device's qemu parameters, the job's images and the overlay drive. */
export function qemuCommand(
  ctx: JobContext,
  block: Record<string, unknown>,
  /** Filled with the images QEMU attaches as disks (which must be self-contained). */
  disks: { path: string; what: string }[] = [],
): string[] {
  const methods = isMapping(ctx.device.actions) && isMapping(ctx.device.actions.boot) &&
      isMapping(ctx.device.actions.boot.methods)
    ? ctx.device.actions.boot.methods
    : {};
  const qemu = isMapping(methods.qemu) && isMapping(methods.qemu.parameters) ? methods.qemu.parameters : undefined;
  if (!qemu || typeof qemu.command !== "string") {
    throw new ConfigurationError(
      "the device has no actions.boot.methods.qemu.parameters.command: it cannot boot with qemu",
    );
  }
  const words = (value: unknown): string[] =>
    (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value])
      .flatMap((option) => String(option).trim().split(/\s+/)).filter((w) => w !== "");
  const argv = [...words(qemu.command), ...words(qemu.options), ...words(qemu.extra)];
  const deploy = (Array.isArray(ctx.job.actions) ? ctx.job.actions : []).map((a) => a?.deploy).find((d) =>
    isMapping(d)
  );
  const images = isMapping(deploy) && isMapping(deploy.images) ? deploy.images : {};
  for (const [key, image] of Object.entries(images)) {
    const path = ctx.downloads.get(key);
    if (!path || !isMapping(image)) continue;
    const arg = typeof image.image_arg === "string" ? image.image_arg : `-drive format=raw,file={${key}}`;
    const words = splitArgs(arg);
    if (checkImageArg(words, key, `execute-qemu images.${key}.image_arg`)) {
      disks.push({ path, what: `execute-qemu images.${key}` });
    }
    argv.push(...words.map((word) => word.replaceAll(`{${key}}`, path)));
  }
  if (ctx.overlayImage) argv.push("-drive", `format=raw,file=${ctx.overlayImage},if=virtio,readonly=on`);
  void block;
  return argv;
}

/**
 * The QEMU options a job's `image_arg` may give, and what their value may be:
 * the image itself (`{key}`), a kernel command line, or a drive or device
 * whose only file is the image. Anything else could make QEMU read or write
 * any file the worker can (`-drive file=/etc/...`, `-device loader,file=`,
 * `-chardev file,path=`, `-monitor`...).
 */
const IMAGE_OPTIONS: Readonly<Record<string, "image" | "text" | "drive" | "device">> = {
  "-kernel": "image",
  "-initrd": "image",
  "-dtb": "image",
  "-bios": "image",
  "-cdrom": "image",
  "-hda": "image",
  "-hdb": "image",
  "-hdc": "image",
  "-hdd": "image",
  "-append": "text",
  "-drive": "drive",
  "-device": "device",
};
const DRIVE_KEYS = new Set([
  "file",
  "if",
  "index",
  "media",
  "format",
  "readonly",
  "snapshot",
  "cache",
  "id",
  "discard",
]);
const DEVICE_DRIVERS = /^(virtio-[a-z0-9-]+|ide-[a-z]+|scsi-[a-z]+|usb-storage|nvme)$/;

/**
 * Refuses an `image_arg` (split into words) that does more than hand QEMU the
 * image `{key}`; says whether QEMU opens the image as a disk.
 */
export function checkImageArg(words: readonly string[], key: string, what: string): boolean {
  const placeholder = `{${key}}`;
  let disk = false;
  for (let i = 0; i < words.length; i += 2) {
    const option = words[i];
    const kind = IMAGE_OPTIONS[option];
    const value = words[i + 1];
    if (!kind) {
      throw new JobError(
        `${what}: QEMU option ${JSON.stringify(option)} is not allowed (use ${Object.keys(IMAGE_OPTIONS).join(", ")})`,
      );
    }
    if (value === undefined) throw new JobError(`${what}: ${option} needs a value`);
    if (kind === "image" && value !== placeholder) {
      throw new JobError(`${what}: ${option} must be given ${placeholder}, the downloaded image, not ${value}`);
    }
    if (kind === "drive" || /^-(hd[a-d]|cdrom)$/.test(option)) disk = true;
    if (kind === "drive" || kind === "device") {
      if (value.includes(",,")) throw new JobError(`${what}: ${option} ${value}: escaped commas are not allowed`);
      const [first, ...rest] = value.split(",");
      if (kind === "device" && !DEVICE_DRIVERS.test(first)) {
        throw new JobError(`${what}: -device ${first} is not a disk device a job may add`);
      }
      for (const part of kind === "drive" ? [first, ...rest] : rest) {
        const [name, setting] = part.split("=", 2);
        const allowed = kind === "drive" ? DRIVE_KEYS.has(name) : /^(drive|id|bus|serial|bootindex)$/.test(name);
        if (!allowed) throw new JobError(`${what}: ${option} setting ${JSON.stringify(name)} is not allowed`);
        if (name === "file" && setting !== placeholder) {
          throw new JobError(`${what}: ${option} file= must be ${placeholder}, the downloaded image, not ${setting}`);
        }
      }
    }
  }
  return disk;
}

/** Splits a QEMU argument string as a shell would (quotes group, e.g. -append "..."). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let started = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

const executeQemu: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const disks: { path: string; what: string }[] = [];
  const argv = qemuCommand(ctx, block, disks);
  for (const disk of disks) await checkSelfContainedImage(disk.path, disk.what);
  ctx.log.info(`Boot command: ${argv.join(" ")}`);
  if (ctx.qemu) await ctx.qemu.close();
  try {
    ctx.qemu = processConsole(argv);
  } catch (error) {
    throw new InfrastructureError(`cannot start ${argv[0]}: ${(error as Error).message}`);
  }
  const qemu = ctx.qemu;
  (async () => {
    for await (const line of qemu.stderrLines) ctx.log.info(`qemu: ${line}`);
  })().catch(() => {});
  ctx.console = new Console(qemu, ctx.log);
  ctx.kernelPanic = undefined;
  watchKernel(ctx, ctx.console);
  qemu.status.then((status) => {
    if (ctx.qemu === qemu) {
      ctx.log.debug(`qemu exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
    }
  });
  // A QEMU that cannot start exits at once: report it rather than wait for a prompt.
  const early = await Promise.race([qemu.status, new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))]);
  if (early) {
    throw new InfrastructureError(`${argv[0]} exited at once with code ${early.code}: see the log for its message`);
  }
};

// --- real devices ------------------------------------------------------------

const connectDevice: ActionImplementation = async ({ ctx }) => {
  const command = ctx.command("connect");
  if (typeof command !== "string") {
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
  const timeout = action.timeout * 1000;
  ctx.poweredOff = false;
  if (await runPowerCommands("hard reset", ctx.command("hard_reset"), ctx.log, timeout, signal)) return;
  const off = await runPowerCommands("power off", ctx.command("power_off"), ctx.log, timeout, signal);
  const on = await runPowerCommands("power on", ctx.command("power_on"), ctx.log, timeout, signal);
  if (!off && !on) ctx.log.warning("the device has no power commands: it is not reset");
};

// --- U-Boot ------------------------------------------------------------------

/** U-Boot's boot command for each kernel type a deploy may name. */
const IMAGE_TYPES: Record<string, string> = { bootz: "zimage", booti: "image", bootm: "uimage" };

/**
 * The boot command: the one the job's kernel `type` calls for, else the first the
 * device gives addresses for.
 */
function bootCommandFor(ctx: JobContext, params: Record<string, unknown>): string {
  const deploys = (Array.isArray(ctx.job.actions) ? ctx.job.actions : [])
    .map((a) => isMapping(a) && isMapping(a.deploy) ? a.deploy : undefined)
    .filter((d): d is Record<string, unknown> => d !== undefined);
  for (const deploy of deploys.reverse()) {
    const type = isMapping(deploy.kernel) ? deploy.kernel.type : undefined;
    const command = Object.keys(IMAGE_TYPES).find((b) => IMAGE_TYPES[b] === type);
    if (command) return command;
  }
  return Object.keys(IMAGE_TYPES).find((b) => isMapping(params[b]) || isMapping(params[IMAGE_TYPES[b]])) ?? "bootz";
}

/** The U-Boot commands with `{KERNEL_ADDR}`-style placeholders filled in. */
function ubootCommands(ctx: JobContext, block: Record<string, unknown>): string[] {
  const methods = isMapping(ctx.device.actions) && isMapping(ctx.device.actions.boot) &&
      isMapping(ctx.device.actions.boot.methods)
    ? ctx.device.actions.boot.methods
    : {};
  const uboot = isMapping(methods["u-boot"]) ? methods["u-boot"] : {};
  const commands = block.commands;
  let list: string[];
  if (Array.isArray(commands)) list = commands.map(String);
  else if (
    typeof commands === "string" && isMapping(uboot[commands]) &&
    Array.isArray((uboot[commands] as { commands?: unknown }).commands)
  ) {
    list = (uboot[commands] as { commands: unknown[] }).commands.map(String);
  } else {
    throw new ConfigurationError(`the device defines no u-boot command set ${JSON.stringify(commands)}`);
  }
  const params = isMapping(ctx.device.parameters) ? ctx.device.parameters : {};
  const bootx = bootCommandFor(ctx, params);
  const addresses =
    (isMapping(params[bootx])
      ? params[bootx]
      : isMapping(params[IMAGE_TYPES[bootx]])
      ? params[IMAGE_TYPES[bootx]]
      : {}) as Record<string, unknown>;
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
  const values: Record<string, string> = {
    SERVER_IP: String(ctx.dispatcher.dispatcher_ip ?? "127.0.0.1"),
    KERNEL_ADDR: String(addresses.kernel ?? ""),
    RAMDISK_ADDR: String(addresses.ramdisk ?? ""),
    DTB_ADDR: String(addresses.dtb ?? ""),
    TEE_ADDR: String(addresses.tee ?? ""),
    KERNEL: file("kernel"),
    RAMDISK: file("ramdisk") || file("initrd"),
    DTB: file("dtb"),
    TEE: file("tee"),
    BOOTX: `${bootx} ${addresses.kernel ?? ""} ${file("ramdisk") ? addresses.ramdisk : "-"} ${addresses.dtb ?? ""}`
      .trim(),
    LAVA_JOB_ID: ctx.jobId,
  };
  return list.map((command) => command.replace(/\{([A-Z_]+)\}/g, (whole, key) => values[key] ?? whole));
}

const bootloaderOverlay: ActionImplementation = ({ ctx, block }) => {
  const commands = ubootCommands(ctx, block);
  ubootPlans.set(ctx, commands);
  ctx.log.info(`Parsed boot commands: ${commands.join("; ")}`);
  return Promise.resolve();
};
const ubootPlans = new WeakMap<JobContext, string[]>();

const bootloaderInterrupt: ActionImplementation = async (run) => {
  const { ctx } = run;
  const prompt = String(ctx.constant("u-boot", "interrupt-prompt") ?? "Hit any key to stop autoboot");
  const character = String(ctx.constant("u-boot", "interrupt-character") ?? " ");
  await expectOn(run, [prompt], `the bootloader's "${prompt}"`);
  await ctx.console!.send(character === "\n" ? "\n" : `${character}\n`, { delayMs: ctx.characterDelay("boot") });
  await expectOn(run, [bootloaderPrompt(ctx, run.block)], "the bootloader prompt");
};

function bootloaderPrompt(ctx: JobContext, block: Record<string, unknown>): string {
  const methods = isMapping(ctx.device.actions) && isMapping(ctx.device.actions.boot) &&
      isMapping(ctx.device.actions.boot.methods)
    ? ctx.device.actions.boot.methods
    : {};
  const uboot = isMapping(methods["u-boot"]) && isMapping(methods["u-boot"].parameters)
    ? methods["u-boot"].parameters
    : {};
  void block;
  return String(uboot.bootloader_prompt ?? "=>");
}

/**
 * A pattern from the rendered device configuration. A job's context can set some of them
 * (`kernel_start_message`), so one that is not a regular expression is a configuration error naming the field,
 * not a bug.
 */
function deviceRegExp(source: string, field: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new ConfigurationError(
      `${field} ${JSON.stringify(source.slice(0, 200))} is not a regular expression: ${(error as Error).message}`,
    );
  }
}

const bootloaderCommands: ActionImplementation = async (run) => {
  const { ctx, block } = run;
  const commands = ubootPlans.get(ctx) ?? ubootCommands(ctx, block);
  const prompt = bootloaderPrompt(ctx, block);
  const errors = ctx.constant("u-boot", "error-messages");
  const errorPatterns = Array.isArray(errors)
    ? errors.map((e) => deviceRegExp(String(e), "u-boot error-messages"))
    : [];
  const delay = ctx.characterDelay("boot");
  for (const [i, command] of commands.entries()) {
    await ctx.console!.sendLine(command, { delayMs: delay, signal: run.signal });
    if (i === commands.length - 1) break;
    const match = await expectOn(run, [prompt, ...errorPatterns], "the bootloader prompt");
    if (match.index > 0) throw new InfrastructureError(`bootloader error after "${command}": ${match.match[0]}`);
  }
  const start = String(ctx.constant("kernel-start-message") ?? "Linux version [0-9]");
  const match = await expectOn(
    run,
    [deviceRegExp(start, "kernel-start-message"), ...errorPatterns],
    "the kernel to start",
  );
  if (match.index > 0) throw new InfrastructureError(`bootloader error: ${match.match[0]}`);
};

// --- logging in -----------------------------------------------------------------

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
  const prompt = String(ctx.constant("default-shell-prompt") ?? "lava-test: # ");
  await ctx.console!.sendLine(`export PS1='${prompt.replaceAll("'", "'\\''")}'`);
  await expectOn(run, [prompt], `the prompt "${prompt}"`);
  ctx.prompts = [prompt];
};

export const BOOT_ACTIONS: Record<string, ActionImplementation> = {
  "execute-qemu": executeQemu,
  "connect-device": connectDevice,
  "pdu-reboot": pduReboot,
  "bootloader-overlay": bootloaderOverlay,
  "bootloader-interrupt": bootloaderInterrupt,
  "bootloader-commands": bootloaderCommands,
  "login-action": loginAction,
  "expect-shell-connection": expectShell,
  "export-device-env": exportDeviceEnv,
};
