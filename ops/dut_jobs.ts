/**
 * LAVA jobs for the QEMU device image tools/build-dut-image.sh builds (a Debian
 * kernel and a busybox initramfs): the demo lab's sample, MultiNode and
 * health-check jobs, and the tests' jobs, all come from here.
 */

import { cpioArchive, gzip } from "../worker/overlay/cpio.ts";

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
