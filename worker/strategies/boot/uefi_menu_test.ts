import { assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows } from "../../../tests/support/pipelines.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";
import { ConfigurationError, JobError } from "../../job/errors.ts";
import { menuResource } from "../../resources/menu.ts";
import { uefiMenuBoot } from "./uefi_menu.ts";
import { JobLog } from "../../job/log.ts";

function menuJob(method: string): Record<string, unknown> {
  return {
    device_type: "x86-uefi-menu",
    job_name: `${method} ramdisk`,
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
      { boot: { method, commands: "ramdisk", prompts: ["/ # "] } },
      { test: { timeout: { minutes: 5 }, definitions: [] } },
    ],
  };
}

const device = () => pcDevice("x86-uefi-menu", "pc-menu-01", "11", 8006, ["{% set tftp_mac = '52:54:00:12:34:56' %}"]);
const bootRows = (method: string) =>
  rows(pipelineOf(menuJob(method), device()).actions)
    .filter(([, level]) => level === "2" || level.startsWith("2."))
    .map(([name, level]) => [name, level]);

Deno.test("a uefi-menu job's boot is LAVA's uefi-menu-action (its pipeline_refs/mustang-uefi.yaml)", () => {
  assertEquals(bootRows("uefi-menu"), [
    ["uefi-menu-action", "2"],
    ["uefi-commands", "2.1"],
    ["menu-connect", "2.2"],
    ["reset-device", "2.3"],
    ["pdu-reboot", "2.3.1"],
    ["uefi-menu-interrupt", "2.4"],
    ["uefi-menu-selector", "2.5"],
    ["menu-reset", "2.6"],
    ["auto-login-action", "2.7"],
    ["login-action", "2.7.1"],
    ["export-device-env", "2.8"],
  ]);
});

Deno.test("a grub-efi job's boot is LAVA's grub-main-action with the menu's steps (pipeline_refs/mustang-grub-efi-nfs.yaml)", () => {
  assertEquals(bootRows("grub-efi"), [
    ["grub-main-action", "2"],
    ["bootloader-from-media", "2.1"],
    ["bootloader-overlay", "2.2"],
    ["connect-device", "2.3"],
    ["reset-device", "2.4"],
    ["pdu-reboot", "2.4.1"],
    ["uefi-menu-interrupt", "2.5"],
    ["grub-efi-menu-selector", "2.6"],
    ["bootloader-interrupt", "2.7"],
    ["bootloader-commands", "2.8"],
    ["auto-login-action", "2.9"],
    ["login-action", "2.9.1"],
    ["expect-shell-connection", "2.10"],
    ["export-device-env", "2.11"],
  ]);
});

Deno.test("the x86-uefi-menu template describes LAVA's numbered menu, its TFTP entry sequence and the GRUB entry", () => {
  const menu = menuResource(device(), "uefi-menu");
  assertEquals([menu.prompt, menu.interruptPrompt, menu.interruptString, menu.lineSeparator, menu.menuOptions], [
    "Start:",
    "The default boot selection will start in",
    " ",
    "\r\n",
    "pxe-grub",
  ]);
  assertEquals(menu.sequences["pxe-grub"], [{ items: ["LAVA PXE Grub"] }]);
  const ramdisk = menu.sequences.ramdisk;
  assertEquals(ramdisk.filter((s) => s.enter !== undefined).map((s) => s.enter), [
    "y",
    "{SERVER_IP}",
    "{KERNEL}",
    "n",
    "n",
    "y",
    "{RAMDISK}",
    "console=ttyS0,115200 ip=dhcp",
    "TEST_MENU_NAME",
  ]);
  assertEquals(ramdisk.at(-1), { items: ["TEST_MENU_NAME"] });
  // Without the TFTP device's MAC the menu cannot be steered to it: the sequence is not there, and a job using it
  // is refused naming it.
  const noMac = menuResource(pcDevice("x86-uefi-menu", "pc-menu-02", "12", 8007), "uefi-menu");
  assertEquals(Object.keys(noMac.sequences), ["pxe-grub"]);
});

Deno.test("uefi-commands fills the job's files, server and entry name into the sequence, and refuses one it lacks", async () => {
  const job = menuJob("uefi-menu");
  const logged: string[] = [];
  const ctx = testContext({
    job,
    device: device(),
    dispatcher: { dispatcher_ip: "10.0.2.2", tftp_root: "/srv/tftp" },
    log: new JobLog([(record) => void logged.push(String(record.msg))]),
  });
  ctx.downloads.set("kernel", "/srv/tftp/42/tftp-deploy-x/kernel/vmlinuz");
  const block = { method: "uefi-menu", commands: "ramdisk" };
  const commands = uefiMenuBoot.actions()["uefi-commands"];
  const run = { ctx, block } as unknown as Parameters<typeof commands>[0];
  // No ramdisk downloaded: {RAMDISK} cannot be filled.
  await assertRejects(() => commands(run), JobError, "needs {RAMDISK}");
  ctx.downloads.set("ramdisk", "/srv/tftp/42/tftp-deploy-x/ramdisk/initramfs.cpio.gz");
  await commands(run);
  const parsed = JSON.parse(logged.find((m) => m.startsWith("Parsed"))!.replace("Parsed menu sequence: ", "")) as {
    enter?: string;
    items?: string[];
  }[];
  assertEquals(parsed.filter((s) => s.enter).map((s) => s.enter).slice(1, 3), [
    "10.0.2.2",
    "42/tftp-deploy-x/kernel/vmlinuz",
  ]);
  assertEquals(parsed.at(-1), { items: ["LAVA ramdisk test image"] });
  await assertRejects(
    () => commands({ ctx, block: { ...block, commands: "nfs" } } as unknown as Parameters<typeof commands>[0]),
    ConfigurationError,
    'Missing commands for "nfs"',
  );
});
