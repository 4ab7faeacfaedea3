import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { JobLog } from "../job/log.ts";
import { ConfigurationError, JobError } from "../job/errors.ts";
import { menuResource } from "../resources/menu.ts";
import { FirmwareMenu } from "../sim/firmware_menu.ts";
import { Console } from "./console.ts";
import { MenuDriver, menuSelection } from "./menu.ts";
import { pcDevice } from "../../tests/support/pipelines.ts";

/** A uefi-menu boot method as LAVA's templates write it, with `sequences`. */
function device(sequences: Record<string, unknown>, parameters: Record<string, unknown> = {}) {
  return {
    actions: {
      boot: {
        methods: {
          "uefi-menu": {
            parameters: {
              interrupt_prompt: "The default boot selection will start in",
              interrupt_string: " ",
              item_markup: ["[", "]"],
              item_class: "0-9",
              separator: " ",
              bootloader_prompt: "Start:",
              ...parameters,
            },
            ...sequences,
          },
        },
      },
    },
  };
}

Deno.test("an item's number is found by its label, the latest menu printed first", () => {
  const menu = menuResource(device({}), "uefi-menu");
  const output = "[1] Shell\r\n[2] Boot Manager\r\nStart: 2\r\n[1] Add Boot Device Entry\r\n[2] Shell\r\n";
  assertEquals(menuSelection(menu, output, "Shell"), "2");
  assertEquals(menuSelection(menu, output, "Boot Manager"), "2");
  assertEquals(menuSelection(menu, output, "Reboot"), undefined);
  // LAVA's label class stops at characters outside it: "(" ends this label, which then never equals one with it.
  assertEquals(
    menuSelection(menu, "[4] UEFI PXEv4 (MAC:525400123456)\r\n", "UEFI PXEv4 (MAC:525400123456)"),
    undefined,
  );
});

Deno.test("a menu the device describes badly fails the jobs using it, naming the field", () => {
  assertThrows(
    () => menuResource(device({}, { item_markup: undefined }), "uefi-menu"),
    ConfigurationError,
    "Missing device parameters for UEFI menu operations",
  );
  assertThrows(() => menuResource(device({}, { item_class: "9-0" }), "uefi-menu"), ConfigurationError, "item_class");
  assertThrows(
    () => menuResource(device({ bad: [{ select: { press: "x" } }] }), "uefi-menu"),
    ConfigurationError,
    "actions.boot.methods.uefi-menu.bad.0.select: Unable to recognise item press",
  );
  assertThrows(() => menuResource(device({}), "uefi"), ConfigurationError, "no uefi boot method");
});

/** The simulated firmware menu in this process, on a console the driver reads. */
function simulatedFirmware(countdown = 3) {
  const booted: string[][] = [];
  let toConsole!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({ start: (c) => void (toConsole = c) });
  const encoder = new TextEncoder();
  const firmware = new FirmwareMenu({
    countdown,
    entries: [{ label: "Shell", qemu: ["-shell"] }, { label: "LAVA PXE Grub", qemu: ["-grub"] }],
    tftp: { mac: "52:54:00:12:34:56", qemu: ["-m", "256"] },
  }, {
    write: (text) => toConsole.enqueue(encoder.encode(text)),
    boot: (qemu) => booted.push([...qemu]),
    shutdown: () => booted.push(["off"]),
    dir: "/nonexistent",
  });
  const decoder = new TextDecoder();
  const console = new Console({
    readable,
    write: (bytes) => Promise.resolve(firmware.input(decoder.decode(bytes))),
    close: () => {
      firmware.stop();
      toConsole.close();
      return Promise.resolve();
    },
  }, new JobLog());
  return { firmware, console, booted };
}

function driverOn(console: Console, config: unknown) {
  return new MenuDriver(
    menuResource(config, "uefi-menu"),
    console,
    (patterns) => console.expect([...patterns], 5_000),
    { characterDelayMs: 0, log: () => {} },
  );
}

Deno.test("the driver stops the countdown and chooses an entry by its label", async () => {
  const { firmware, console, booted } = simulatedFirmware();
  try {
    firmware.start();
    const driver = driverOn(console, device({ "pxe-grub": [{ select: { items: ["LAVA PXE Grub"] } }] }));
    await driver.interrupt();
    await driver.select(driver.menu.sequences["pxe-grub"]);
    await console.expect(["\r\n"], 1_000); // the choice's echo, then the board boots
    assertEquals(booted, [["-grub"]]);
  } finally {
    await console.close();
  }
});

Deno.test("the driver adds a TFTP boot entry through the Boot Manager's questions", async () => {
  const { firmware, console, booted } = simulatedFirmware();
  try {
    firmware.start();
    const steps = [
      { select: { items: ["Boot Manager"], wait: "Choice:" } },
      { select: { items: ["Add Boot Device Entry"], wait: "Select the Boot Device:" } },
      { select: { items: ["TFTP on MAC Address: 52:54:00:12:34:56"], wait: "Get the IP address from DHCP:" } },
      { select: { enter: "y", wait: "Get the TFTP server IP address:" } },
      { select: { enter: "10.0.2.2", wait: "File path of the EFI Application or the kernel" } },
      { select: { enter: "42/kernel/vmlinuz", wait: "Is an EFI Application\\?" } },
      { select: { enter: "n", wait: "Has FDT support\\?" } },
      { select: { enter: "n", wait: "Add an initrd:" } },
      { select: { enter: "n", wait: "Arguments to pass to the binary:" } },
      { select: { enter: "console=ttyS0", wait: "Description for this new Entry:" } },
      { select: { enter: "LAVA ramdisk test image", wait: "Choice:" } },
      { select: { items: ["Return to main menu"], wait: "Start:" } },
    ];
    const driver = driverOn(console, device({ ramdisk: steps }));
    await driver.interrupt();
    await driver.select(driver.menu.sequences.ramdisk);
    // An unknown answer shows the main menu again: the new entry is first in it, nothing booted yet.
    await console.send("x\r\n");
    const menu = await console.expect(["Start:"], 5_000);
    assertStringIncludes(menu.before, "[1] LAVA ramdisk test image\r\n[2] Shell\r\n[3] LAVA PXE Grub\r\n");
    assertEquals(booted, []);
  } finally {
    await console.close();
  }
});

Deno.test("a label the menu does not show fails the boot as LAVA's 'No selection was made', a fallback saving it", async () => {
  const { firmware, console, booted } = simulatedFirmware();
  try {
    firmware.start();
    const driver = driverOn(
      console,
      device({
        missing: [{ select: { items: ["Network boot"] } }],
        fallback: [{ select: { items: ["Network boot"], fallback: "Shell" } }],
      }),
    );
    await driver.interrupt();
    const error = await assertRejects(() => driver.select(driver.menu.sequences.missing), JobError);
    assertStringIncludes(error.message, "No selection was made");
    await console.send("x\r\n"); // an unknown answer: the menu again
    await driver.select(driver.menu.sequences.fallback);
    await console.expect(["\r\n"], 1_000);
    assertEquals(booted, [["-shell"]]);
  } finally {
    await console.close();
  }
});

Deno.test("a boot entry stays across power cycles, and the x86-uefi-menu sequence removes the previous job's before adding its own", async () => {
  const { firmware, console } = simulatedFirmware(1);
  const template = pcDevice("x86-uefi-menu", "pc-menu-01", "11", 8006, ["{% set tftp_mac = '52:54:00:12:34:56' %}"]);
  // The sequence up to the main menu with the new entry in it (choosing it would fetch its files over TFTP).
  const name = (text?: string) => text?.replace("TEST_MENU_NAME", "LAVA ramdisk test image");
  const steps = menuResource(template, "uefi-menu").sequences.ramdisk.slice(0, -1).map((step) => ({
    ...step,
    ...(step.items ? { items: step.items.map((item) => name(item)!) } : {}),
    ...(step.fallback ? { fallback: name(step.fallback) } : {}),
    ...(step.enter ? { enter: name(step.enter) } : {}),
  }));
  try {
    for (const boot of [1, 2, 3]) {
      firmware.start(); // power-on (the first boot has nothing to remove; the others remove the previous entry)
      const driver = driverOn(console, template);
      await driver.interrupt();
      await driver.select(steps);
      await console.send("x\r\n");
      const menu = await console.expect(["Start:"], 5_000);
      assertEquals(
        menu.before.match(/\[\d+\] LAVA ramdisk test image/g),
        ["[1] LAVA ramdisk test image"],
        `boot ${boot}`,
      );
      firmware.stop(); // power-off
    }
  } finally {
    await console.close();
  }
});
