import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { LAVA_EXAMPLES, testWithExamples } from "../../tests/support/lava_examples.ts";
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import { ConfigurationError } from "../job/errors.ts";
import { deviceResources } from "./device.ts";

const LAVA = jinjaEnvironment([`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`]);

function rendered(name: string, deviceType: string): Record<string, unknown> {
  const dictionary = Deno.readTextFileSync(`${LAVA_EXAMPLES}device-dicts/${name}.jinja2`);
  return renderDevice(LAVA, { dictionary, name, hostname: name, deviceType }).config as Record<string, unknown>;
}

testWithExamples("a U-Boot board's configuration reads as its connection, power, bootloader and load addresses", () => {
  const bbb = deviceResources(rendered("bbb-01", "beaglebone-black"));
  assertEquals(bbb.hostname, "bbb-01");
  assertEquals(bbb.deviceType, "beaglebone-black");
  assertEquals(typeof bbb.connect, "string");
  assertEquals(bbb.power.hardReset.length > 0, true);
  const uboot = bbb.bootloaders["u-boot"];
  assertEquals(uboot.prompt, "=>");
  assertStringIncludes(uboot.interruptPrompt, "stop autoboot");
  assertEquals(Object.keys(uboot.commandSets).includes("ramdisk"), true);
  assertEquals(uboot.commandSets.ramdisk.some((c) => typeof c === "string" && c.includes("{KERNEL_ADDR}")), true);
  assertEquals(typeof bbb.loadAddresses.bootz?.kernel, "string");
  assertEquals(bbb.qemu, undefined);
});

testWithExamples("a QEMU device's configuration reads as its QEMU command and options", () => {
  const qemu = deviceResources(rendered("qemu01", "qemu"));
  assertEquals(qemu.qemu?.command.startsWith("qemu-system-"), true);
  assertEquals(qemu.qemu!.options.length > 0, true);
  assertEquals(qemu.bootloaders, {});
  assertEquals(qemu.shellPrompt, "lava-test: # ");
});

Deno.test("a value of the wrong shape is a configuration error naming its key", () => {
  const error = assertThrows(
    () => deviceResources({ commands: { hard_reset: { not: "a command" } } }),
    ConfigurationError,
  );
  assertStringIncludes(error.message, "device configuration commands.hard_reset: must be a command or a list");
  assertThrows(
    () => deviceResources({ character_delays: { boot: -1 } }),
    ConfigurationError,
    "character_delays.boot",
  );
  assertThrows(
    () => deviceResources({ commands: { users: { relay: "echo no do" } } }),
    ConfigurationError,
    "commands.users.relay",
  );
  assertThrows(
    () => deviceResources({ actions: { boot: { methods: { grub: { parameters: { bootloader_prompt: ["x"] } } } } } }),
    ConfigurationError,
    "actions.boot.methods.grub.parameters.bootloader_prompt",
  );
});

Deno.test("what a configuration leaves out takes LAVA's defaults", () => {
  const bare = deviceResources({});
  assertEquals(bare.connect, undefined);
  assertEquals(bare.power, { hardReset: [], powerOn: [], powerOff: [], softReboot: [], prePower: [], preOs: [] });
  assertEquals(bare.kernelStartMessage, "Linux version [0-9]");
  assertEquals(bare.testResultsDir, "/lava-%s");
  assertEquals(bare.characterDelays, { boot: 0, test: 0 });
  assertEquals(bare.storage, []);
  const stored = deviceResources({ storage_info: [{ SATA: "/dev/disk/by-id/ata-1" }, { UMS: "/dev/sdb" }] });
  assertEquals(stored.storage, [{ method: "SATA", id: "/dev/disk/by-id/ata-1" }, { method: "UMS", id: "/dev/sdb" }]);
});
