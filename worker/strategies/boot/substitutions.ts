/**
 * LAVA's `bootloader-overlay`: the values a bootloader's command list is filled
 * with — the worker's address, the files the deploy put where the bootloader
 * fetches them (named as the TFTP server names them), the device's load addresses
 * and the boot command the kernel's type calls for.
 */
import { isMapping } from "../../../actors/definitions/schema.ts";
import { servedName, tftpRoot } from "../../drivers/tftp_dir.ts";
import { commandList, fillPlaceholders } from "../../drivers/bootloader.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import type { BootloaderResource } from "../../resources/device.ts";
import type { Block, JobContext } from "../context.ts";

/** U-Boot's boot command for each kernel type a deploy may name. */
const IMAGE_TYPES: Readonly<Record<string, string>> = { bootz: "zimage", booti: "image", bootm: "uimage" };

/** The deploy blocks of the job, last first. */
function deploysLastFirst(ctx: JobContext): Block[] {
  return (Array.isArray(ctx.job.actions) ? ctx.job.actions : [])
    .map((a) => isMapping(a) && isMapping(a.deploy) ? a.deploy : undefined)
    .filter((d): d is Block => d !== undefined)
    .reverse();
}

/** The boot command: the one the job's kernel `type` calls for, else the first the device gives addresses for. */
export function bootCommandFor(ctx: JobContext): string {
  for (const deploy of deploysLastFirst(ctx)) {
    const type = isMapping(deploy.kernel) ? deploy.kernel.type : undefined;
    const command = Object.keys(IMAGE_TYPES).find((b) => IMAGE_TYPES[b] === type);
    if (command) return command;
  }
  return Object.keys(IMAGE_TYPES).find((b) => ctx.resources.loadAddresses[b]) ?? "bootz";
}

/**
 * The worker's address as the device reaches it, as LAVA reads the dispatcher configuration: for a `protocol`,
 * `dispatcher_nfs_ip` (or `_tftp_`) when given, else `dispatcher_ip`. LAVA's bootloader commands take
 * `dispatcher_ip` for both `{SERVER_IP}` and `{NFS_SERVER_IP}`; QEMU's `qemu-nfs` takes the NFS one.
 */
export function serverIp(ctx: JobContext, protocol?: "tftp" | "nfs" | "http"): string {
  const key = protocol && ctx.dispatcher[`dispatcher_${protocol}_ip`] !== undefined
    ? `dispatcher_${protocol}_ip`
    : "dispatcher_ip";
  const ip = ctx.dispatcher[key] ?? "127.0.0.1";
  if (typeof ip !== "string" || !/^[0-9A-Za-z.:-]+$/.test(ip)) {
    throw new JobError(`dispatcher configuration ${key}: ${JSON.stringify(ip)} is not an address`);
  }
  return ip;
}

/** The placeholders of the boot method `method`'s commands, as LAVA 2023.01 fills them. */
export function bootloaderSubstitutions(ctx: JobContext, method: string): Record<string, string> {
  const root = tftpRoot(ctx.dispatcher);
  const file = (key: string) => {
    const path = ctx.downloads.get(key);
    return path ? servedName(root, path) : "";
  };
  const ip = serverIp(ctx);
  const ramdisk = file("ramdisk") || file("initrd");
  const values: Record<string, string> = {
    SERVER_IP: ip,
    KERNEL: file("kernel"),
    RAMDISK: ramdisk,
    INITRD: ramdisk,
    DTB: file("dtb"),
    TEE: file("tee"),
    LAVA_JOB_ID: ctx.jobId,
  };
  if (ctx.nfsRoot !== undefined) {
    values.NFSROOTFS = ctx.nfsRoot;
    values.NFS_SERVER_IP = ip;
  }
  if (ctx.nbdServer) {
    values.NBDSERVERIP = ctx.nbdServer.ip;
    values.NBDSERVERPORT = String(ctx.nbdServer.port);
  }
  const mac = ctx.resources.bootloaders[method]?.lavaMac;
  if (mac) values.LAVA_MAC = mac;
  const bootx = bootCommandFor(ctx);
  const addresses = ctx.resources.loadAddresses[bootx];
  if (addresses) {
    // As LAVA: U-Boot is given the ramdisk's address only when the ramdisk carries a U-Boot header.
    const ramdiskAddress = !ramdisk || (method === "u-boot" && !ctx.resources.ramdiskHeader)
      ? "-"
      : file("initrd") && !file("ramdisk")
      ? `${addresses.ramdisk ?? ""}:\${initrd_size}`
      : addresses.ramdisk ?? "";
    const first = file("tee") ? addresses.tee : addresses.kernel;
    values.BOOTX = `${bootx} ${first ?? ""} ${ramdiskAddress} ${addresses.dtb ?? ""}`;
    values.KERNEL_ADDR = addresses.kernel ?? "";
    values.DTB_ADDR = addresses.dtb ?? "";
    values.RAMDISK_ADDR = addresses.ramdisk ?? "";
    values.TEE_ADDR = addresses.tee ?? "";
  }
  return values;
}

/** The device's bootloader for `method`; a device without one cannot boot the job that way. */
export function bootloaderOf(ctx: JobContext, method: string): BootloaderResource {
  const config = ctx.resources.bootloaders[method];
  if (!config) throw new ConfigurationError(`the device has no actions.boot.methods.${method}: it cannot boot with it`);
  return config;
}

/**
 * The command set the boot block names (or its own list), filled for this job. A
 * file or value left unfilled is the job's error: typed as it is, the bootloader
 * would only fail later and less clearly.
 */
export function filledBootCommands(ctx: JobContext, block: Block, method: string): string[] {
  const commands = fillPlaceholders(
    commandList(bootloaderOf(ctx, method), block.commands),
    bootloaderSubstitutions(ctx, method),
  );
  const left = commands.find((c) => /\{(KERNEL|RAMDISK|INITRD|SERVER_IP|LAVA_MAC|NFSROOTFS|NFS_SERVER_IP)\}/.test(c));
  if (left) throw new JobError(`boot commands: "${left}" needs a file or value this job does not give`);
  return commands;
}
