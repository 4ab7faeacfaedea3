/**
 * The QEMU device under test: a Debian kernel and a busybox initramfs built by
 * `tools/build-dut-image.sh` (CI builds it into BASALT_DUT_DIR, by default
 * /var/cache/basalt-dut), and the rendered device configuration for it.
 */
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import { inlineTest, qemuJobFor, type QemuJobOptions } from "../../ops/dut_jobs.ts";
import { type DutFile, PATHS } from "../../ops/setup.ts";

export { inlineTest, type QemuJobOptions };

/** A LAVA job for the test DUT: deploy its kernel and initramfs to tmpfs, boot QEMU, run tests. */
export function qemuJob(options: QemuJobOptions = {}): Record<string, unknown> {
  return qemuJobFor((name) => dutFile(name), options);
}

export const DUT_DIR = PATHS.dutDir;

export function dutFile(name: DutFile): string {
  const path = `${DUT_DIR}/${name}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`the QEMU device image is missing (${path}): run tools/build-dut-image.sh ${DUT_DIR}`);
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
