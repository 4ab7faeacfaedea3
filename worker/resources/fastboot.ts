/**
 * A fastboot device as its configuration describes it (LAVA's base-fastboot
 * keys): the serial `fastboot -s` takes, the options every command gets, the
 * order partitions are flashed in, the boot sequence, and how the board gets
 * into fastboot mode. Values go onto the fastboot client's command line, each an
 * argument of its own, so none may read as an option.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { ConfigurationError, JobError } from "../job/errors.ts";
import type { FastbootTarget } from "../drivers/fastboot.ts";
import { Reader } from "./device.ts";

export interface FastbootResource extends FastbootTarget {
  readonly adbSerial: string;
  /** Partitions in the order the device flashes them; a job's other images follow. */
  readonly flashOrder: readonly string[];
  /** The boot method's sequence (`boot`, `reboot`, `no-flash-boot`, ...). */
  readonly sequence: readonly string[];
  /** Fastboot mode is reached by typing commands at U-Boot (LAVA's fastboot_via_uboot). */
  readonly viaUboot: boolean;
  /** LAVA's device_info[0].wait_device_board_id: false when the device cannot be waited for. */
  readonly waitForDevice: boolean;
}

/** LAVA's boot sequence steps. */
export const SEQUENCE_STEPS = [
  "boot",
  "reboot",
  "no-flash-boot",
  "auto-login",
  "overlay-unpack",
  "shell-session",
  "export-env",
] as const;

/** A partition name as fastboot takes it: never an option, never a path. */
const PARTITION = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** The job's partition name (an `images` key), or the job's error naming it. */
export function partitionName(name: string, field: string): string {
  if (!PARTITION.test(name)) {
    throw new JobError(`${field}: ${JSON.stringify(name)} is not a partition name (letters, digits, '_', '.', '-')`);
  }
  return name;
}

export function fastbootResource(config: unknown): FastbootResource {
  const r = new Reader(isMapping(config) ? config : {});
  const serial = r.text(["fastboot_serial_number"], "");
  if (serial === "" || serial === "0000000000") {
    throw new ConfigurationError("device fastboot serial number unset (fastboot_serial_number)");
  }
  if (serial.startsWith("-") || /[\s\0]/.test(serial)) {
    throw new ConfigurationError(
      `device configuration fastboot_serial_number: ${JSON.stringify(serial)} is not a serial`,
    );
  }
  if (!Array.isArray(r.at(["fastboot_options"])) && r.at(["fastboot_options"]) !== undefined) {
    throw new ConfigurationError("device fastboot options is not a list (fastboot_options)");
  }
  const flashOrder = r.words(["flash_cmds_order"]);
  flashOrder.forEach((p, i) => {
    if (!PARTITION.test(p)) throw new ConfigurationError(`device configuration flash_cmds_order.${i}: not a partition`);
  });
  const sequence = r.words(["actions", "boot", "methods", "fastboot"]);
  sequence.forEach((step, i) => {
    if (!(SEQUENCE_STEPS as readonly string[]).includes(step)) {
      throw new ConfigurationError(`Unknown boot sequence '${step}' (actions.boot.methods.fastboot.${i})`);
    }
  });
  const info = r.at(["device_info"]);
  const first = Array.isArray(info) && isMapping(info[0]) ? info[0] : {};
  return {
    serial,
    options: r.words(["fastboot_options"]),
    adbSerial: r.text(["adb_serial_number"], serial),
    flashOrder,
    sequence,
    viaUboot: r.flag(["fastboot_via_uboot"], false),
    waitForDevice: first.wait_device_board_id !== false,
  };
}
