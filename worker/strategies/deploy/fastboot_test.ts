import { assertEquals, assertRejects, assertThrows } from "../../../tests/support/assert.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";
import { fastbootDeploy } from "./fastboot.ts";
import { pcDevice, pipelineOf, rows, templateDevice } from "../../../tests/support/pipelines.ts";
import { JobError } from "../../job/errors.ts";
import { jobCommand } from "../boot/fastboot.ts";
import { fastbootResource } from "../../resources/fastboot.ts";

const JOB = {
  device_type: "fastboot",
  job_name: "fastboot",
  timeouts: { job: { minutes: 30 }, action: { minutes: 5 } },
  actions: [
    {
      deploy: {
        to: "fastboot",
        images: {
          userdata: { url: "http://example.com/userdata.img", "apply-overlay": true },
          boot: { url: "http://example.com/boot.img", reboot: "hard-reset" },
        },
        os: "oe",
      },
    },
    { boot: { method: "fastboot", prompts: ["/ # "], commands: ["oem device-info"] } },
    { test: { timeout: { minutes: 5 }, definitions: [] } },
  ],
};

const device = (extra: string[] = []) =>
  pcDevice("fastboot", "hikey-01", "3", 7001, ["{% set fastboot_serial_number = 'tcp:127.0.0.1:5554' %}", ...extra]);

Deno.test("a fastboot deploy is LAVA 2023.01's fastboot-deploy: overlay, pre-power command and power cycle, downloads by name, flashes in the device's order (pipeline_refs/db410c.yaml)", () => {
  const all = rows(pipelineOf(JOB, device()).actions).map(([name, level]) => [name, level]);
  assertEquals(all.filter(([, level]) => /^1(\.[0-9]+)?$/.test(level)), [
    ["fastboot-deploy", "1"],
    ["lava-overlay", "1.1"],
    ["connect-device", "1.2"],
    ["pre-power-command", "1.3"],
    ["reset-device", "1.4"],
    ["download-retry", "1.5"],
    ["deploy-device-env", "1.6"],
    ["download-retry", "1.7"],
    ["apply-overlay-sparse-image", "1.8"],
    ["deploy-device-env", "1.9"],
    ["fastboot-flash-order-action", "1.10"],
  ]);
  // The template's order puts boot before userdata; boot asks for a power cycle after it.
  assertEquals(all.filter(([, level]) => level.startsWith("1.10.")), [
    ["read-feedback", "1.10.1"],
    ["wait-device-boardid", "1.10.2"],
    ["fastboot-flash-action", "1.10.3"],
    ["pdu-reboot", "1.10.4"],
    ["read-feedback", "1.10.5"],
    ["wait-device-boardid", "1.10.6"],
    ["fastboot-flash-action", "1.10.7"],
  ]);
});

Deno.test("without power control the deploy asks the device into its bootloader with fastboot itself (no adb)", () => {
  const bare = templateDevice("fastboot", "phone-01", ["{% set fastboot_serial_number = 'R3CN30' %}"]);
  const deploy = rows(pipelineOf(JOB, bare).actions).map(([name, level]) => [name, level])
    .filter(([, level]) => /^1\.[0-9]+$/.test(level));
  assertEquals(deploy.slice(0, 3), [["lava-overlay", "1.1"], ["enter-fastboot-action", "1.2"], [
    "download-retry",
    "1.3",
  ]]);
});

Deno.test("a fastboot boot runs the job's commands, power-cycles, then the device's sequence and the shell (LAVA's fastboot-boot)", () => {
  const boot = (extra: string[]) =>
    rows(pipelineOf(JOB, device(extra)).actions).map(([name, level]) => [name, level])
      .filter(([, level]) => level === "2" || level.startsWith("2."));
  assertEquals(boot([]), [
    ["fastboot-boot", "2"],
    ["fastboot-boot-commands", "2.1"],
    ["connect-device", "2.2"],
    ["reset-device", "2.3"],
    ["pdu-reboot", "2.3.1"],
    ["wait-device-boardid", "2.4"],
    ["fastboot-reboot", "2.5"],
    ["pre-os-command", "2.6"],
    ["auto-login-action", "2.7"],
    ["login-action", "2.7.1"],
    ["expect-shell-connection", "2.8"],
    ["export-device-env", "2.9"],
  ]);
  // HiKey's sequence boots the downloaded image instead.
  assertEquals(boot(["{% set fastboot_sequence = ['boot'] %}"]).slice(5, 7), [
    ["wait-device-boardid", "2.4"],
    ["boot-fastboot", "2.5"],
  ]);
});

Deno.test("a job's fastboot commands act on the device alone: no files, no options, nothing outside the list", () => {
  assertEquals(jobCommand("oem device-info", 0), ["oem", "device-info"]);
  assertEquals(jobCommand("erase cache", 1), ["erase", "cache"]);
  assertThrows(() => jobCommand("flash boot /etc/shadow", 0), JobError, "boot commands.0");
  assertThrows(() => jobCommand("-s tcp:10.0.0.9 reboot", 0), JobError, "not a fastboot command");
  assertThrows(() => jobCommand("getvar -s", 2), JobError, "options are the device's");
});

Deno.test("a fastboot device's serial must be set and cannot be an option", () => {
  assertEquals(fastbootResource({ fastboot_serial_number: "tcp:127.0.0.1:5554" }).serial, "tcp:127.0.0.1:5554");
  assertThrows(() => fastbootResource({ fastboot_serial_number: "0000000000" }), Error, "unset");
  assertThrows(() => fastbootResource({ fastboot_serial_number: "-w" }), Error, "is not a serial");
  assertThrows(
    () => fastbootResource({ fastboot_serial_number: "x", actions: { boot: { methods: { fastboot: ["bogus"] } } } }),
    Error,
    "Unknown boot sequence 'bogus'",
  );
});

Deno.test("apply-overlay refuses a sparse image that would expand past the download bound, before expanding it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-fastboot-" });
  try {
    // A header claiming 2^20 blocks of 1 GiB... of nothing: 1 PiB once expanded.
    const header = new Uint8Array(28);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0xed26ff3a, true);
    view.setUint16(4, 1, true);
    view.setUint16(8, 28, true);
    view.setUint16(10, 12, true);
    view.setUint32(12, 1 << 30, true);
    view.setUint32(16, 1 << 20, true);
    await Deno.writeFile(`${dir}/userdata.img`, header);
    const ctx = testContext({ device: device(), job: JOB, dir });
    ctx.downloads.set("userdata", `${dir}/userdata.img`);
    ctx.overlay = { root: dir } as unknown as typeof ctx.overlay;
    const apply = fastbootDeploy.actions()["apply-overlay-sparse-image"];
    const block = (JOB.actions[0] as { deploy: Record<string, unknown> }).deploy;
    await assertRejects(
      () => apply({ ctx, block, action: { name: "apply-overlay-sparse-image", item: "userdata" } } as never),
      JobError,
      "the sparse image expands to 1125899906842624 bytes",
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["userdata.img"], "nothing was expanded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
