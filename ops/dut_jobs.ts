/**
 * LAVA jobs for the QEMU device image tools/build-dut-image.sh builds (a Debian
 * kernel and a busybox initramfs): the demo lab's sample, MultiNode and
 * health-check jobs, and the tests' jobs, all come from here.
 */

import { cpioArchive, gzip } from "../worker/overlay/cpio.ts";
import type { DutFile } from "./setup.ts";

/** Where a file of the device image is (on the worker that runs the job). */
export type DutFileOf = (name: DutFile) => string;

export interface QemuJobOptions {
  readonly name?: string;
  readonly initramfs?: "initramfs" | "initramfs-login";
  readonly append?: string;
  readonly boot?: Record<string, unknown>;
  readonly tests?: unknown[];
  readonly jobMinutes?: number;
  readonly bootSeconds?: number;
  readonly testSeconds?: number;
}

/** A LAVA job: deploy the DUT kernel and initramfs (from `file`) to tmpfs, boot QEMU, run tests. */
export function qemuJobFor(
  file: (name: "vmlinux" | "initramfs" | "initramfs-login") => string,
  options: QemuJobOptions = {},
): Record<string, unknown> {
  const actions: Record<string, unknown>[] = [
    {
      deploy: {
        to: "tmpfs",
        images: {
          kernel: {
            url: `file://${file("vmlinux")}`,
            image_arg: `-kernel {kernel} -append "console=ttyS0 panic=-1 ${options.append ?? ""}"`,
          },
          initrd: { url: `file://${file(options.initramfs ?? "initramfs")}`, image_arg: "-initrd {initrd}" },
        },
      },
    },
    {
      boot: {
        method: "qemu",
        media: "tmpfs",
        timeout: { seconds: options.bootSeconds ?? 90 },
        prompts: ["/ # "],
        ...options.boot,
      },
    },
  ];
  if (options.tests) {
    actions.push({ test: { timeout: { seconds: options.testSeconds ?? 90 }, definitions: options.tests } });
  }
  return {
    device_type: "qemu",
    job_name: options.name ?? "qemu test",
    timeouts: { job: { minutes: options.jobMinutes ?? 4 }, action: { minutes: 2 } },
    visibility: "public",
    actions,
  };
}

/** An inline test definition running `steps`. */
export function inlineTest(name: string, steps: string[]): Record<string, unknown> {
  return {
    from: "inline",
    name,
    path: `inline/${name}.yaml`,
    repository: { metadata: { format: "Lava-Test Test Definition 1.0", name }, run: { steps } },
  };
}

/** Stand-ins for a kernel, ramdisk and device tree, in `dir`. */
export async function bootFiles(dir: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${dir}/empty`, { recursive: true });
  await Deno.writeFile(
    `${dir}/ramdisk.cpio.gz`,
    await gzip(await cpioArchive(`${dir}/empty`) as Uint8Array<ArrayBuffer>),
  );
  await Deno.writeTextFile(`${dir}/zImage`, "not really a kernel\n");
  await Deno.writeTextFile(`${dir}/board.dtb`, "not really a device tree\n");
  return { kernel: `${dir}/zImage`, ramdisk: `${dir}/ramdisk.cpio.gz`, dtb: `${dir}/board.dtb` };
}

/** A TFTP + U-Boot job for the simulated board; `tests` replaces its default test definitions. */
export function ubootJob(files: Record<string, string>, failureRetry: number, tests?: unknown[]) {
  return {
    device_type: "sim-uboot-board",
    job_name: "u-boot on the simulated board",
    timeouts: { job: { minutes: 4 }, action: { minutes: 1 } },
    visibility: "public",
    actions: [
      {
        deploy: {
          to: "tftp",
          kernel: { url: `file://${files.kernel}`, type: "zimage" },
          ramdisk: { url: `file://${files.ramdisk}`, compression: "gz" },
          dtb: { url: `file://${files.dtb}` },
        },
      },
      {
        boot: {
          method: "u-boot",
          commands: "ramdisk",
          failure_retry: failureRetry,
          prompts: ["/ # "],
          timeout: { minutes: 2 },
        },
      },
      {
        test: {
          timeout: { minutes: 1 },
          definitions: tests ?? [
            inlineTest("on-board", [
              "lava-test-case shell-works --shell true",
              "lava-test-case kernel --shell uname -s",
            ]),
          ],
        },
      },
    ],
  };
}

export interface MultinodeRoles {
  readonly name: string;
  /** Role → its device type and the steps of its test. */
  readonly roles: Record<string, { readonly deviceType: string; readonly steps: readonly string[] }>;
  readonly timeoutMinutes?: number;
}

/** A MultiNode job on the QEMU device image: each role boots its own device and runs its own steps. */
export function qemuMultinodeJob(
  file: (name: "vmlinux" | "initramfs" | "initramfs-login") => string,
  spec: MultinodeRoles,
): Record<string, unknown> {
  const base = qemuJobFor(file, {});
  const [deploy, boot] = base.actions as Record<string, Record<string, unknown>>[];
  const { device_type: _type, actions: _actions, ...rest } = base;
  const names = Object.keys(spec.roles);
  const minutes = spec.timeoutMinutes ?? 2;
  return {
    ...rest,
    job_name: spec.name,
    protocols: {
      "lava-multinode": {
        roles: Object.fromEntries(names.map((r) => [r, { device_type: spec.roles[r].deviceType, count: 1 }])),
        timeout: { minutes },
      },
    },
    actions: [
      { deploy: { ...deploy.deploy, role: names } },
      { boot: { ...boot.boot, role: names } },
      ...names.map((role) => ({
        test: {
          role: [role],
          timeout: { minutes },
          definitions: [inlineTest(role, [...spec.roles[role].steps])],
        },
      })),
    ],
  };
}

/** A LAVA job that deploys `files` to TFTP, boots them with the bootloader's `ramdisk` commands and runs `steps`. */
export function netbootJob(o: {
  deviceType: string;
  method: string;
  name: string;
  files: Record<string, unknown>;
  suite: string;
  steps: string[];
  commands?: string;
  context?: Record<string, unknown>;
  /** The deploy method: tftp unless given. */
  to?: string;
  /** More of the boot block. */
  boot?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    device_type: o.deviceType,
    job_name: o.name,
    ...(o.context ? { context: o.context } : {}),
    visibility: "public",
    timeouts: { job: { minutes: 6 }, action: { minutes: 3 } },
    actions: [
      { deploy: { to: o.to ?? "tftp", ...o.files, os: "oe" } },
      { boot: { method: o.method, commands: o.commands ?? "ramdisk", prompts: ["/ # "], ...o.boot } },
      { test: { timeout: { minutes: 2 }, definitions: [inlineTest(o.suite, o.steps)] } },
    ],
  };
}

/** A PC's netboot job (iPXE, GRUB or UEFI by `boot`): the device image's kernel and ramdisk over TFTP, then `steps`. */
export function pcNetbootJob(
  file: DutFileOf,
  steps: string[],
  name: string,
  boot: { method: string; deviceType: string },
): Record<string, unknown> {
  return netbootJob({
    ...boot,
    name,
    files: {
      kernel: { url: `file://${file("vmlinuz")}` },
      ramdisk: { url: `file://${file("initramfs")}`, compression: "gz" },
    },
    suite: "pc",
    steps,
  });
}

/**
 * A LAVA u-boot job for the arm64 U-Boot board: the device image's Image, ramdisk (or `ramdisk`) and device tree
 * over TFTP (with `extra.files`, such as an nfsrootfs, booted by `extra.commands`), then `steps`.
 */
export function arm64UbootJob(
  file: DutFileOf,
  steps: string[],
  name: string,
  ramdisk?: Record<string, unknown>,
  extra: { files?: Record<string, unknown>; commands?: string; context?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return netbootJob({
    deviceType: "qemu-aarch64-uboot",
    method: "u-boot",
    name,
    files: { ...arm64BootFiles(file, ramdisk), ...extra.files },
    suite: "arm64",
    steps,
    commands: extra.commands,
    context: extra.context,
  });
}

/** The device image's arm64 Image, ramdisk (or `ramdisk`) and device tree, as a network deploy's files. */
function arm64BootFiles(file: DutFileOf, ramdisk?: Record<string, unknown>): Record<string, unknown> {
  return {
    kernel: { url: `file://${file("arm64/Image")}`, type: "image" },
    ramdisk: ramdisk ?? { url: `file://${file("arm64/initramfs")}`, compression: "gz" },
    dtb: { url: `file://${file("arm64/virt.dtb")}` },
  };
}

/** The steps of every firmware device type's health check: a shell, and the kernel the job deployed. */
const HEALTH_STEPS = ["lava-test-case shell --shell true", "lava-test-case kernel --shell uname -r"];

/**
 * The health checks of Basalt's device types on real firmware, by device type: each boots the device image's
 * kernel and ramdisk the way its template boots them and runs a shell, as a lab's `health-checks/<type>.yaml`.
 */
export function firmwareHealthChecks(file: DutFileOf): Record<string, Record<string, unknown>> {
  const pc = (method: string, deviceType: string) =>
    pcNetbootJob(file, HEALTH_STEPS, `${deviceType} health check`, { method, deviceType });
  return {
    "x86": pc("ipxe", "x86"),
    "x86-grub": pc("grub", "x86-grub"),
    "x86-uefi": pc("uefi", "x86-uefi"),
    "x86-uefi-menu": pc("uefi-menu", "x86-uefi-menu"),
    "x86-depthcharge": pc("depthcharge", "x86-depthcharge"),
    "arm64-depthcharge": arm64DepthchargeJob(file, HEALTH_STEPS, "arm64-depthcharge health check"),
    "qemu-aarch64-uboot": arm64UbootJob(file, HEALTH_STEPS, "qemu-aarch64-uboot health check"),
    "fastboot": fastbootJob(file, HEALTH_STEPS, "fastboot health check"),
  };
}

/**
 * A LAVA fastboot job for the simulated fastboot board: the device image's Android boot image flashed to `boot`,
 * its busybox system as a sparse ext4 image flashed to `userdata` with the test overlay written into it (the boot
 * image's command line mounts that as the root), the flashed image started with `fastboot reboot`, then `steps`.
 */
export function fastbootJob(file: DutFileOf, steps: string[], name: string): Record<string, unknown> {
  return {
    device_type: "fastboot",
    job_name: name,
    visibility: "public",
    timeouts: { job: { minutes: 6 }, action: { minutes: 3 } },
    actions: [
      {
        deploy: {
          to: "fastboot",
          images: {
            boot: { url: `file://${file("arm64/boot.img")}` },
            userdata: { url: `file://${file("arm64/nbdroot.simg")}`, "apply-overlay": true },
          },
          os: "oe",
        },
      },
      { boot: { method: "fastboot", prompts: ["/ # "] } },
      { test: { timeout: { minutes: 2 }, definitions: [inlineTest("fastboot", steps)] } },
    ],
  };
}

/**
 * A LAVA ssh job for a machine reached over SSH: the ssh deploy (the overlay packed for scp), the ssh boot (logged
 * into, the overlay copied and unpacked), then `steps`; `prompts` are the machine's shell's.
 */
export function sshJob(steps: string[], name: string, prompts: string[] = ["# "]): Record<string, unknown> {
  return {
    device_type: "ssh",
    job_name: name,
    visibility: "public",
    timeouts: { job: { minutes: 3 }, action: { minutes: 1 } },
    actions: [
      { deploy: { to: "ssh", os: "debian" } },
      { boot: { method: "ssh", connection: "ssh", prompts } },
      { test: { timeout: { minutes: 1 }, definitions: [inlineTest("over-ssh", steps)] } },
    ],
  };
}

/**
 * LAVA's MultiNode job with SSH guests (its "secondary connections" example): the `host` role's device (an `ssh`
 * device here) runs `hostSteps`, which must send the guests its address (`lava-send ipv4 ipaddr=...`) and release
 * them (`lava-send lava_start`); `guests` guests, connections without devices of their own, wait for that, take the
 * address from the `ipv4` message at their deploy (`prepare-scp-overlay`), log into the host device over SSH at
 * their boot (`hostID: ipv4`, `host_key: ipaddr`) and run `guestSteps`.
 */
export function sshGuestMultinodeJob(
  hostSteps: string[],
  guestSteps: string[],
  guests = 1,
  prompts: string[] = ["# "],
): Record<string, unknown> {
  return {
    job_name: "ssh guests",
    visibility: "public",
    timeouts: { job: { minutes: 4 }, action: { minutes: 1 } },
    protocols: {
      "lava-multinode": {
        roles: {
          host: { device_type: "ssh", count: 1, timeout: { minutes: 2 } },
          guest: {
            connection: "ssh",
            count: guests,
            host_role: "host",
            expect_role: "host",
            request: "lava-start",
            timeout: { minutes: 2 },
          },
        },
      },
    },
    actions: [
      { deploy: { role: ["host"], to: "ssh", os: "debian" } },
      {
        deploy: {
          role: ["guest"],
          to: "ssh",
          connection: "ssh",
          os: "debian",
          protocols: {
            "lava-multinode": [{
              action: "prepare-scp-overlay",
              request: "lava-wait",
              messageID: "ipv4",
              message: { ipaddr: "$ipaddr" },
              timeout: { minutes: 1 },
            }],
          },
        },
      },
      { boot: { role: ["host"], method: "ssh", connection: "ssh", prompts } },
      {
        boot: {
          role: ["guest"],
          method: "ssh",
          connection: "ssh",
          prompts,
          parameters: { hostID: "ipv4", host_key: "ipaddr" },
        },
      },
      { test: { role: ["host"], timeout: { minutes: 2 }, definitions: [inlineTest("host", hostSteps)] } },
      { test: { role: ["guest"], timeout: { minutes: 2 }, definitions: [inlineTest("guest", guestSteps)] } },
    ],
  };
}

/** The ssh device type's health check: logged into, a test run in the session. */
export function sshHealthCheck(): Record<string, unknown> {
  return sshJob(HEALTH_STEPS, "ssh health check");
}

/** A LAVA depthcharge job for an arm64 Chromebook: the device image's Image, ramdisk and device tree, then `steps`. */
export function arm64DepthchargeJob(file: DutFileOf, steps: string[], name: string): Record<string, unknown> {
  return netbootJob({
    deviceType: "arm64-depthcharge",
    method: "depthcharge",
    name,
    files: arm64BootFiles(file),
    suite: "arm64",
    steps,
  });
}
