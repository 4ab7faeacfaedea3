/**
 * LAVA's `fastboot` boot: the job's own fastboot commands first (`commands`),
 * the board back in fastboot mode (power-cycled when it has a hard reset
 * command), then the device's boot sequence — `boot` and `no-flash-boot` send the
 * deployed boot image with `fastboot boot`, `reboot` starts what was flashed —
 * and, on the serial console, the login and the shell. Android's adb path (a
 * device without power control, its tests over adb) is not supported yet.
 */
import { type ActionShape, shape } from "../../../actors/definitions/pipeline.ts";
import { splitArgs } from "../../drivers/qemu.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import type { ActionImplementation } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECTION_ACTIONS } from "./connection.ts";
import {
  AUTO_LOGIN_SHAPE,
  EXPECT_SHELL_SHAPE,
  EXPORT_ENV_SHAPE,
  SESSION_ACTIONS,
  shellSessionShape,
} from "./session.ts";
import { enterFastbootShapes, FASTBOOT_ACTIONS, fastbootStep, WAIT_DEVICE_SHAPE } from "../deploy/fastboot.ts";
import { fastbootResource } from "../../resources/fastboot.ts";

const BOOT_FASTBOOT = shape("boot-fastboot", "fastboot boot into system", "attempt to fastboot boot");
const OVERLAY_UNPACK = shape(
  "overlay-unpack",
  "transfer and unpack overlay to persistent rootfs after login",
  "transfer and unpack overlay",
);

/** LAVA's sequence steps and the actions they become. */
const SEQUENCE: Readonly<Record<string, ActionShape>> = {
  boot: BOOT_FASTBOOT,
  "no-flash-boot": BOOT_FASTBOOT,
  reboot: shape("fastboot-reboot", "fastboot reboot into system", "attempt to fastboot reboot"),
  "auto-login": AUTO_LOGIN_SHAPE,
  "overlay-unpack": OVERLAY_UNPACK,
  "shell-session": EXPECT_SHELL_SHAPE,
  "export-env": EXPORT_ENV_SHAPE,
};

/**
 * What a job's `commands` may ask of the device: fastboot's commands that act on the device alone. Nothing that
 * sends a worker's file (flash, boot, update) or takes an option (`-s` would reach another lab's device).
 */
const JOB_COMMANDS = new Set([
  "oem",
  "getvar",
  "erase",
  "format",
  "set_active",
  "flashing",
  "reboot",
  "reboot-bootloader",
  "continue",
]);

/** A job's fastboot command as argv, or the job's error naming it. */
export function jobCommand(command: string, index: number): string[] {
  const field = `boot commands.${index}`;
  let argv: string[];
  try {
    argv = splitArgs(command);
  } catch (error) {
    throw new JobError(`${field}: ${(error as Error).message}`);
  }
  if (argv.length === 0 || !JOB_COMMANDS.has(argv[0])) {
    throw new JobError(
      `${field}: ${JSON.stringify(argv[0] ?? "")} is not a fastboot command a job may run here` +
        ` (${[...JOB_COMMANDS].join(", ")})`,
    );
  }
  const option = argv.find((a) => a.startsWith("-"));
  if (option !== undefined) throw new JobError(`${field}: ${JSON.stringify(option)}: options are the device's`);
  return argv;
}

const fastbootActions = (): Record<string, ActionImplementation> => ({
  ...CONNECTION_ACTIONS,
  ...SESSION_ACTIONS,
  ...FASTBOOT_ACTIONS,
  "fastboot-boot": async (run) => {
    const target = fastbootResource(run.ctx.device);
    if (!target.viaUboot && run.ctx.resources.power.hardReset.length === 0) {
      throw new ConfigurationError(
        "fastboot boot without a hard reset command (adb's path) is not supported yet: give the device one",
      );
    }
    await run.children();
  },
  "fastboot-boot-commands": async (run) => {
    const commands = Array.isArray(run.block.commands) ? run.block.commands.map(String) : [];
    const argvs = commands.map(jobCommand);
    run.ctx.log.info("Running custom fastboot boot commands....");
    for (const argv of argvs) await fastbootStep(run, argv, `fastboot ${argv[0]}`);
  },
  "boot-fastboot": async (run) => {
    const image = run.ctx.downloads.get("boot");
    if (!image) throw new JobError("boot-fastboot: the deploy gave no boot image (images.boot)");
    run.ctx.poweredOff = false;
    const output = await fastbootStep(run, ["boot", image], "boot-fastboot");
    if (!/booting/i.test(output)) throw new JobError(`Unable to boot with fastboot: ${output.slice(-200)}`);
  },
  "fastboot-reboot": async (run) => {
    run.ctx.poweredOff = false;
    const output = await fastbootStep(run, ["reboot"], "fastboot-reboot");
    if (!/rebooting/i.test(output)) throw new JobError(`Unable to fastboot reboot: ${output.slice(-200)}`);
  },
});

/** LAVA 2023.01's BootFastbootAction, on a device with power control (its serial console for the shell). */
export const fastbootBoot: Strategy = {
  section: "boot",
  methods: ["fastboot"],
  shape: (block, { testHasShell }, device) => {
    const pipeline: ActionShape[] = [];
    if (Array.isArray(block.commands) && block.commands.length > 0) {
      pipeline.push(
        shape("fastboot-boot-commands", "Run custom fastboot commands before boot", "Run fastboot boot commands"),
      );
    }
    pipeline.push(...enterFastbootShapes(device, false));
    for (const step of device.fastboot.sequence) {
      const mapped = SEQUENCE[step];
      if (mapped) pipeline.push(WAIT_DEVICE_SHAPE, mapped);
    }
    // As LAVA's fastboot boot with power control: the device's pre-OS command always (it warns when there is none).
    if (device.power.hardReset.length > 0) {
      pipeline.push(shape("pre-os-command", "issue pre os command", "send pre-os-command"));
    }
    pipeline.push(...shellSessionShape(block, testHasShell));
    return shape("fastboot-boot", "fastboot boot into the system", "fastboot boot", { retry: true, pipeline });
  },
  actions: fastbootActions,
};
