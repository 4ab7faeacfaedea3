/**
 * The QEMU device under test: a Debian kernel and a busybox initramfs built by
 * `../shared/tools/build-dut-image.sh` (CI builds it into BASALT_DUT_DIR, by default
 * /var/cache/basalt-dut), and the rendered device configuration for it.
 */
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";

export const DUT_DIR = Deno.env.get("BASALT_DUT_DIR") ?? "/var/cache/basalt-dut";

export function dutFile(name: "vmlinux" | "vmlinuz" | "initramfs" | "initramfs-login"): string {
  const path = `${DUT_DIR}/${name}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`the QEMU device image is missing (${path}): run ../shared/tools/build-dut-image.sh ${DUT_DIR}`);
  }
  return path;
}

/** Device YAML for a QEMU device from Basalt's own template. */
export function qemuDeviceYaml(hostname = "qemu-test", extra = ""): string {
  const env = jinjaEnvironment([new URL("../../master/devices/templates/", import.meta.url).pathname]);
  const rendered = renderDevice(env, {
    dictionary: `{% extends 'qemu.jinja2' %}\n{% set memory = 256 %}\n${extra}`,
    name: hostname,
    hostname,
    deviceType: "qemu",
  });
  if (rendered.errors.length > 0) throw new Error(`device template: ${rendered.errors[0].message}`);
  return rendered.yaml;
}

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

/** A LAVA job: deploy the DUT kernel and initramfs to tmpfs, boot QEMU, run tests. */
export function qemuJob(options: QemuJobOptions = {}): Record<string, unknown> {
  const actions: Record<string, unknown>[] = [
    {
      deploy: {
        to: "tmpfs",
        images: {
          kernel: {
            url: `file://${dutFile("vmlinux")}`,
            image_arg: `-kernel {kernel} -append "console=ttyS0 panic=-1 ${options.append ?? ""}"`,
          },
          initrd: { url: `file://${dutFile(options.initramfs ?? "initramfs")}`, image_arg: "-initrd {initrd}" },
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
