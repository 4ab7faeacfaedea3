/**
 * Device dictionaries rendered to device configuration: LAVA's examples against
 * LAVA's templates, and Basalt's own templates. Expected values are written here
 * from reading the templates, not taken from a renderer.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { exampleFiles, LAVA_EXAMPLES, testWithExamples } from "../../tests/support/lava_examples.ts";
import { formatDiagnostic } from "../../actors/definitions/job_schema.ts";
import { dictionaryProblems, extendedTemplate, renderDevice } from "./dictionary.ts";
import { jinjaEnvironment, TemplateError } from "./jinja.ts";

const LAVA = jinjaEnvironment([`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`]);
const BASALT_TEMPLATES = new URL("./templates/", import.meta.url).pathname;
const BASALT = jinjaEnvironment([BASALT_TEMPLATES]);

// deno-lint-ignore no-explicit-any
type Config = any;

function render(name: string, context: Record<string, unknown> = {}, env = LAVA, dictionary?: string) {
  const text = dictionary ?? Deno.readTextFileSync(`${LAVA_EXAMPLES}device-dicts/${name}.jinja2`);
  const result = renderDevice(env, {
    dictionary: text,
    name: `${name}.jinja2`,
    hostname: name,
    deviceType: extendedTemplate(text)!.replace(/\.jinja2$/, ""),
    context,
  });
  return { ...result, config: result.config as Config };
}

testWithExamples("every LAVA example dictionary renders to configuration that passes the device schema", () => {
  for (const [name] of exampleFiles("device-dicts", ".jinja2")) {
    const hostname = name.replace(/\.jinja2$/, "");
    for (const arch of ["amd64", "arm64"]) {
      const { errors, config } = render(hostname, { arch });
      assertEquals(errors.map(formatDiagnostic), [], `${name} arch ${arch}`);
      assertEquals(config.hostname, hostname);
    }
  }
});

testWithExamples("qemu01 renders the qemu command and options its template and dictionary give", () => {
  const { config } = render("qemu01", { arch: "amd64" });
  const qemu = config.actions.boot.methods.qemu.parameters;
  assertEquals(qemu.command, "qemu-system-x86_64");
  assertEquals(qemu.boot_options, { root: "/dev/sda1", console: "ttyS0,115200", boot_order: "c" });
  // KVM unless no_kvm; the dictionary's memory and MAC address.
  assertEquals(qemu.options, [
    "-cpu host",
    "-enable-kvm",
    "-nographic",
    "-net nic,model=virtio,macaddr=52:54:00:12:34:59 -net user",
    "-m 1024",
    "-monitor none",
  ]);
  assertEquals(config.actions.deploy.methods.image.parameters.guest, {
    size: 512,
    interface: "ide",
    driveid: "lavatest",
  });
  assertEquals(config.commands.users.sleep_short, { do: "sleep 10" });
  assertEquals(config.commands.users.touch, { do: "touch /tmp/bla", undo: "touch /tmp/bla.rm" });
});

testWithExamples("a job's context reaches template defaults but not values the dictionary sets", () => {
  const { config } = render("qemu01", {
    arch: "arm64",
    no_kvm: true,
    memory: 4096, // the dictionary sets memory = 1024: it wins
    boot_console: "ttyAMA1 9600", // only a template default: the job wins
    guestfs_interface: "scsi",
  });
  const qemu = config.actions.boot.methods.qemu.parameters;
  assertEquals(qemu.command, "qemu-system-aarch64");
  assertEquals(qemu.options, [
    "-cpu cortex-a57",
    "-machine virt",
    "-nographic",
    "-net nic,model=virtio,macaddr=52:54:00:12:34:59 -net user",
    "-m 1024",
    "-monitor none",
  ]);
  assertEquals(qemu.boot_options.console, "ttyAMA1 9600");
  assertEquals(config.actions.deploy.methods.image.parameters.guest.interface, "scsi");
});

testWithExamples("a dictionary that sets x = x | default(v) lets the job's context win", () => {
  const dictionary = "{% extends 'qemu.jinja2' %}\n{% set memory = memory | default(1024) %}\n";
  assert(
    render("qemu02", { arch: "amd64" }, LAVA, dictionary).config.actions.boot.methods.qemu.parameters.options
      .includes("-m 1024"),
  );
  assert(
    render("qemu02", { arch: "amd64", memory: 2048 }, LAVA, dictionary).config.actions.boot.methods.qemu.parameters
      .options.includes("-m 2048"),
  );
});

testWithExamples("bbb-01 renders its serial connection, power commands and U-Boot ramdisk commands", () => {
  const { config } = render("bbb-01");
  assertEquals(config.commands, {
    connect: "telnet localhost 6000",
    hard_reset: "/usr/bin/pduclient --daemon localhost --hostname pdu --command reboot --port 08",
    power_off: "/usr/bin/pduclient --daemon localhost --hostname pdu --command off --port 08",
    power_on: "/usr/bin/pduclient --daemon localhost --hostname pdu --command on --port 08",
  });
  assertEquals(config.character_delays, { boot: 10 });
  assertEquals(config.parameters.bootz, {
    kernel: "0x82000000",
    ramdisk: "0x83000000",
    dtb: "0x88000000",
    tee: "0x83000000",
    dtbo: "0x93c00000",
  });
  const uboot = config.actions.boot.methods["u-boot"];
  // The board template defaults to "U-Boot"; the dictionary sets "=>", which wins.
  assertEquals(uboot.parameters.bootloader_prompt, "=>");
  assertEquals(uboot.ramdisk.commands, [
    "setenv autoload no",
    "setenv initrd_high 0xffffffff",
    "setenv fdt_high 0xffffffff",
    "dhcp",
    "setenv serverip {SERVER_IP}",
    "tftp {KERNEL_ADDR} {KERNEL}",
    "tftp {RAMDISK_ADDR} {RAMDISK}",
    "tftp {TEE_ADDR} {TEE}",
    "setenv initrd_size ${filesize}",
    "tftp {DTB_ADDR} {DTB}",
    "setenv bootargs 'console=ttyO0,115200n8 root=/dev/ram0  ip=dhcp'",
    "{BOOTX}",
  ]);
  assertEquals(config.parameters.media.usb.SanDisk_Ultra.uuid, "usb-SanDisk_Ultra_20060775320F43006019-0:0");
});

testWithExamples("hi6220-hikey-01 renders its named serial connections with the primary tag", () => {
  const { config } = render("hi6220-hikey-01");
  assertEquals(config.commands.connections, {
    uart0: { connect: "telnet localhost 4002" },
    uart1: { connect: "telnet 192.168.1.200 8001", tags: ["primary"] },
  });
  assertEquals(config.commands.soft_reboot, "fastboot -s usb:2-1.2 reboot");
  assertEquals(config.device_info, [{ board_id: "0123456789" }]);
  assertEquals(config.fastboot_serial_number, "usb:2-1.2");
});

Deno.test("Basalt's own templates render valid configurations for QEMU, a U-Boot board and a serial board", () => {
  const qemu = render("vm1", { arch: "aarch64", memory: 1024 }, BASALT, "{% extends 'qemu.jinja2' %}\n");
  assertEquals(qemu.errors.map(formatDiagnostic), []);
  assertEquals(qemu.config.actions.boot.methods.qemu.parameters.command, "qemu-system-aarch64");
  assertEquals(qemu.config.actions.boot.methods.qemu.parameters.options.slice(0, 5), [
    "-machine virt",
    "-accel tcg",
    "-cpu max",
    "-m 1024",
    "-smp 1",
  ]);
  const x86 = render("vm2", {}, BASALT, "{% extends 'qemu.jinja2' %}\n{% set accel = 'kvm' %}\n");
  assertEquals(x86.config.actions.boot.methods.qemu.parameters.command, "qemu-system-x86_64");
  assert(x86.config.actions.boot.methods.qemu.parameters.options.includes("-accel kvm"));
  // qemu-nfs: the same QEMU, and the kernel's NFS root arguments as LAVA's qemu template gives them.
  const qemuNfs = render("vm3", { extra_nfsroot_args: ",vers=4,port=2050" }, BASALT, "{% extends 'qemu.jinja2' %}\n");
  assertEquals(
    qemuNfs.config.actions.boot.methods["qemu-nfs"].parameters.options,
    qemuNfs.config.actions.boot.methods.qemu.parameters.options,
  );
  assertEquals(qemuNfs.config.actions.boot.methods["qemu-nfs"].parameters.append, {
    console: "ttyS0",
    root: "/dev/nfs",
    nfsrootargs: "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard,vers=4,port=2050",
    ipargs: "ip=dhcp",
  });
  assert("nfs" in qemuNfs.config.actions.deploy.methods);

  const board = render(
    "board1",
    {},
    BASALT,
    [
      "{% extends 'sim-uboot-board.jinja2' %}",
      "{% set connection_command = 'telnet 127.0.0.1 7001' %}",
      "{% set power_on_command = ['relay on 1', 'sleep 1'] %}",
      "{% set power_off_command = 'relay off 1' %}",
    ].join("\n"),
  );
  assertEquals(board.errors.map(formatDiagnostic), []);
  assertEquals(board.config.commands, {
    connect: "telnet 127.0.0.1 7001",
    power_on: ["relay on 1", "sleep 1"],
    power_off: "relay off 1",
  });
  assertEquals(board.config.parameters.zimage, { kernel: "0x40400000", ramdisk: "0x45000000", dtb: "0x44000000" });
  assertEquals(
    board.config.actions.boot.methods["u-boot"].ramdisk.commands.at(-2),
    "setenv bootargs console=ttyAMA0,115200n8",
  );

  // The nfs command set: the same fetches, and LAVA's NFS root arguments with the job's extra_nfsroot_args.
  const arm64 = render(
    "arm1",
    { extra_nfsroot_args: ",vers=4" },
    BASALT,
    "{% extends 'qemu-aarch64-uboot.jinja2' %}\n",
  );
  assertEquals(arm64.errors.map(formatDiagnostic), []);
  const { ramdisk, nfs } = arm64.config.actions.boot.methods["u-boot"];
  assertEquals(nfs.commands.slice(0, -2), ramdisk.commands.slice(0, -2));
  assertEquals(
    nfs.commands.at(-2),
    "setenv bootargs console=ttyAMA0,115200n8 root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard,vers=4 ip=dhcp",
  );
  assertEquals(nfs.commands.at(-1), "{BOOTX}");
  // LAVA 2023.01's sixteen U-Boot error messages, and one more from the dictionary.
  assertEquals(arm64.config.constants["u-boot"]["error-messages"].length, 16);
  const extra = render(
    "arm2",
    {},
    BASALT,
    "{% extends 'qemu-aarch64-uboot.jinja2' %}\n{% set uboot_extra_error_message = 'SError' %}\n",
  );
  assertEquals(extra.config.constants["u-boot"]["error-messages"].at(-1), "SError");

  const serial = render(
    "serial1",
    {},
    BASALT,
    [
      "{% extends 'serial-minimal.jinja2' %}",
      '{% set connection_command = "socat - /dev/ttyUSB0,raw,b115200" %}',
    ].join("\n"),
  );
  assertEquals(serial.errors.map(formatDiagnostic), []);
  assertEquals(serial.config.commands.connect, "socat - /dev/ttyUSB0,raw,b115200");
  assertEquals(Object.keys(serial.config.actions.boot.methods), ["minimal"]);
});

Deno.test("a dictionary must extend one template and otherwise only set variables", () => {
  assertEquals(dictionaryProblems("{% extends 'qemu.jinja2' %}\n{# note\n over lines #}\n{% set a = 1 %}\n"), []);
  assertEquals(dictionaryProblems("{% set a = 1 %}"), [
    { line: 1, message: "a device dictionary must {% extends %} its device-type template" },
  ]);
  assertEquals(dictionaryProblems("{% extends 'a.jinja2' %}\n{% if x %}{% set a = 1 %}{% endif %}\nplain text\n"), [
    { line: 2, message: "{% if %} is not allowed in a device dictionary: use {% set %}" },
    { line: 2, message: "{% endif %} is not allowed in a device dictionary: use {% set %}" },
    { line: 3, message: 'expected only {% extends %} and {% set %} statements, found "plain text"' },
  ]);
  assertEquals(extendedTemplate('{% extends "beaglebone-black.jinja2" %}'), "beaglebone-black.jinja2");
});

Deno.test("a template error names the file and line", () => {
  const error = assertThrows(
    () => render("broken", {}, LAVA, "{% extends 'qemu.jinja2' %}\n{% set x = [1, 2 %}\n"),
    TemplateError,
  );
  assertStringIncludes(error.message, "broken.jinja2");
  assertStringIncludes(error.message, ":2:");
  const missing = assertThrows(() => render("lost", {}, LAVA, "{% extends 'no-such-type.jinja2' %}\n"), TemplateError);
  assertStringIncludes(missing.message, "no-such-type.jinja2");
});
