import { assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows } from "../../../tests/support/pipelines.ts";
import { deviceResources } from "../../resources/device.ts";
import { ConfigurationError } from "../../job/errors.ts";
import { uefiBoot } from "./uefi.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";

const UEFI_JOB = {
  device_type: "x86-uefi",
  job_name: "uefi-shell",
  timeouts: { job: { minutes: 30 }, action: { minutes: 5 } },
  actions: [
    {
      deploy: {
        to: "tftp",
        kernel: { url: "http://example.com/vmlinuz" },
        ramdisk: { url: "http://example.com/initramfs.cpio.gz", compression: "gz" },
        os: "oe",
      },
    },
    { boot: { method: "uefi", commands: "ramdisk", prompts: ["/ # "] } },
    { test: { timeout: { minutes: 5 }, definitions: [] } },
  ],
};

Deno.test("a uefi job's boot is LAVA's uefi-shell-main-action (actions/boot/uefi.py), without menu steps when there is no shell_menu", () => {
  const all = rows(pipelineOf(UEFI_JOB, pcDevice("x86-uefi", "pc-uefi-01", "10", 8005)).actions);
  assertEquals(
    all.filter(([, level]) => level === "2" || level.startsWith("2.")).map(([name, level]) => [name, level]),
    [
      ["uefi-shell-main-action", "2"],
      ["bootloader-overlay", "2.1"],
      ["menu-connect", "2.2"],
      ["reset-device", "2.3"],
      ["pdu-reboot", "2.3.1"],
      ["uefi-shell-interrupt", "2.4"],
      ["bootloader-commands", "2.5"],
      ["auto-login-action", "2.6"],
      ["login-action", "2.6.1"],
      ["expect-shell-connection", "2.7"],
      ["export-device-env", "2.8"],
    ],
  );
});

Deno.test("the x86-uefi template stops the shell's countdown with a key and types its lines ended as UEFI reads them", () => {
  const device = pcDevice("x86-uefi", "pc-uefi-01", "10", 8005);
  const uefi = deviceResources(device).bootloaders.uefi;
  assertEquals([uefi.interruptPrompt, uefi.interruptCharacter, uefi.interruptNewline], [
    "any other key to continue",
    " ",
    false,
  ]);
  assertEquals(uefi.lineSeparator, "\r\n");
  const prompt = new RegExp(uefi.prompt);
  assertEquals(["Shell> ", "FS0:\\> ", "FS12:\\EFI\\> "].map((p) => prompt.test(p)), [true, true, true]);
  assertEquals(prompt.test("Shell>ifconfig"), false);
  assertEquals(uefi.commandSets.ramdisk, [
    "ifconfig -s eth0 dhcp",
    "stall 3000000",
    "fs0:",
    "tftp -s 1468 {SERVER_IP} {KERNEL} vmlinuz.efi",
    "tftp -s 1468 {SERVER_IP} {RAMDISK} initrd",
    "vmlinuz.efi initrd=\\initrd console=ttyS0,115200n8 ip=dhcp",
  ]);
  const error = new RegExp(String(uefi.errorMessages[1]));
  assertEquals(
    error.exec("Unable to get the size of the file 'k/vmlinuz' on 'eth0' - No mapping\r\n")?.[0],
    "Unable to get the size of the file 'k/vmlinuz' on 'eth0' - No mapping",
  );
});

Deno.test("a job whose firmware menu leads to the shell (shell_menu) walks it first, as LAVA's uefi-shell-menu actions", async () => {
  const device = pcDevice("x86-uefi", "pc-uefi-01", "10", 8005);
  const job = {
    ...UEFI_JOB,
    actions: UEFI_JOB.actions.map((a) => "boot" in a ? { boot: { ...a.boot, shell_menu: "shell" } } : a),
  };
  const all = rows(pipelineOf(job, device).actions).map(([name, level]) => [name, level]);
  assertEquals(all.filter(([, level]) => /^2\.[3-6]$/.test(level)), [
    ["reset-device", "2.3"],
    ["uefi-shell-menu-interrupt", "2.4"],
    ["uefi-shell-menu-selector", "2.5"],
    ["uefi-shell-interrupt", "2.6"],
  ]);
  // x86-uefi's firmware has no numbered menu: the template describes none, and the boot says what is missing.
  const ctx = testContext({ job, device });
  const interrupt = uefiBoot.actions()["uefi-shell-menu-interrupt"];
  await assertRejects(
    () => interrupt({ ctx, block: job.actions[1].boot } as unknown as Parameters<typeof interrupt>[0]),
    ConfigurationError,
    "Missing device parameters for UEFI menu operations",
  );
});
