/**
 * A virtual device's QEMU: its command line from the device's qemu parameters
 * and the job's images (each option a job gives checked, so that QEMU opens only
 * the job's own files), and the running process, which is both the device's
 * console and its power: stopping QEMU is switching the device off.
 */
import type { QemuResource } from "../resources/device.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";
import type { PowerDriver } from "./power.ts";
import { type ProcessConsole, processConsole } from "./transports.ts";

/** An image of the job's deploy, as QEMU gets it. */
export interface QemuImage {
  readonly key: string;
  readonly path: string;
  /** The job's `image_arg`, or undefined for a raw drive. */
  readonly imageArg?: string;
}

/** QEMU's argv, and the images it attaches as disks (which must be self-contained). */
export function qemuCommand(
  qemu: QemuResource,
  images: readonly QemuImage[],
  overlayImage?: string,
): { argv: string[]; disks: { path: string; what: string }[] } {
  const words = (options: readonly string[]): string[] =>
    options.flatMap((option) => option.trim().split(/\s+/)).filter((w) => w !== "");
  const argv = [...words([qemu.command]), ...words(qemu.options), ...words(qemu.extra)];
  const disks: { path: string; what: string }[] = [];
  for (const { key, path, imageArg } of images) {
    const arg = imageArg ?? `-drive format=raw,file={${key}}`;
    const split = splitArgs(arg);
    if (checkImageArg(split, key, `execute-qemu images.${key}.image_arg`)) {
      disks.push({ path, what: `execute-qemu images.${key}` });
    }
    argv.push(...split.map((word) => word.replaceAll(`{${key}}`, path)));
  }
  if (overlayImage) argv.push("-drive", `format=raw,file=${overlayImage},if=virtio,readonly=on`);
  return { argv, disks };
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

/** A started QEMU: the console's transport and the device's power. */
export class QemuProcess implements PowerDriver {
  #process: ProcessConsole | undefined;

  private constructor(
    process: ProcessConsole,
    private readonly argv: readonly string[],
    private readonly stderr: (line: string) => void,
  ) {
    this.#process = process;
  }

  /**
   * Starts QEMU, handing each line it writes on stderr to `stderr`; one that cannot
   * start exits at once, which is reported rather than waited on.
   */
  static async start(argv: readonly string[], stderr: (line: string) => void): Promise<QemuProcess> {
    return new QemuProcess(await QemuProcess.#spawn(argv, stderr), argv, stderr);
  }

  static async #spawn(argv: readonly string[], stderr: (line: string) => void): Promise<ProcessConsole> {
    let process: ProcessConsole;
    try {
      process = processConsole(argv);
    } catch (error) {
      throw new InfrastructureError(`cannot start ${argv[0]}: ${(error as Error).message}`);
    }
    (async () => {
      for await (const line of process.stderrLines) stderr(line);
    })().catch(() => {});
    const early = await Promise.race([
      process.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 300)),
    ]);
    if (early) {
      throw new InfrastructureError(`${argv[0]} exited at once with code ${early.code}: see the log for its message`);
    }
    return process;
  }

  /** The process, for the console and its stderr; undefined once stopped. */
  get process(): ProcessConsole | undefined {
    return this.#process;
  }

  /** A virtual device cannot be power-cycled in place: a boot starts a new QEMU. */
  reset(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** Starts the same QEMU again once it was switched off (its console is a new process); false if it runs. */
  async on(): Promise<boolean> {
    if (this.#process) return false;
    this.#process = await QemuProcess.#spawn(this.argv, this.stderr);
    return true;
  }

  async off(): Promise<boolean> {
    const process = this.#process;
    this.#process = undefined;
    await process?.close();
    return process !== undefined;
  }
}
