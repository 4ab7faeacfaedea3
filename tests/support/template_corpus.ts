/**
 * The device-type template corpus: every template Debian's `lava-server` 2023.01 ships
 * (unpacked by tools/fetch-lava-reference.sh) and every one in ../shared/lava-examples,
 * none picked by hand. Each is extended by three device dictionaries (nothing set, the
 * settings a typical board's dictionary makes, and the less common ones) and rendered
 * with three job contexts, by Basalt and by LAVA's own renderer set-up
 * (tests/support/lava_templates.py). Used by tests/template_corpus_test.ts and
 * bench/validate.ts.
 */
import { join } from "../../actors/path.ts";
import { LAVA_EXAMPLES, lavaReference } from "./lava_examples.ts";

/** One template file and the search path its dictionaries render with (LAVA's device-types directory). */
export interface CorpusTemplate {
  /** `debian/beaglebone-black.jinja2` or `examples/qemu.jinja2`. */
  readonly label: string;
  readonly file: string;
  readonly paths: readonly string[];
  /**
   * The LAVA whose environment renders it: Debian's templates are 2023.01's (no extra
   * filters); the examples come from current LAVA, whose environment adds
   * `shlex_quote`, `yaml_quote` and `qemu_guest_fs_interface`.
   */
  readonly lava: "2023.01" | "current";
}

export interface CorpusCase {
  readonly template: CorpusTemplate;
  readonly dictionaryName: string;
  readonly dictionary: string;
  readonly contextName: string;
  readonly context: Record<string, unknown>;
}

/** Debian's templates (throws, saying how to get them, when they are not unpacked), then the examples'. */
export function corpusTemplates(): CorpusTemplate[] {
  const debian = lavaReference("usr/share/lava-server/device-types");
  const examples = join(LAVA_EXAMPLES, "device-types");
  return [
    ...templatesIn(debian).map((file) => ({
      label: `debian/${file}`,
      file,
      paths: [debian],
      lava: "2023.01" as const,
    })),
    ...templatesIn(examples).map((file) => ({
      label: `examples/${file}`,
      file,
      paths: [examples],
      lava: "current" as const,
    })),
  ];
}

function templatesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".jinja2")).map((e) => e.name).sort();
}

/** Settings nearly every real dictionary makes: a console, power control, a board's identity. */
const TYPICAL = `
{% set connection_command = 'telnet localhost 7000' %}
{% set hard_reset_command = '/usr/bin/pduclient --daemon localhost --hostname pdu --command reboot --port 08' %}
{% set power_off_command = '/usr/bin/pduclient --daemon localhost --hostname pdu --command off --port 08' %}
{% set power_on_command = '/usr/bin/pduclient --daemon localhost --hostname pdu --command on --port 08' %}
{% set console_device = 'ttyS0' %}
{% set baud_rate = 115200 %}
{% set bootloader_prompt = '=>' %}
{% set device_info = [{'board_id': '0123456789ABCDEF'}] %}
{% set static_info = [{'board_id': 'S_N0123456'}] %}
{% set board_id = '0240000031044e45001c10190000004e0000000097969900' %}
{% set adb_serial_number = '0123456789ABCDEF' %}
{% set fastboot_serial_number = '0123456789ABCDEF' %}
{% set usb_vendor_id = '0d28' %}
{% set usb_product_id = '0204' %}
{% set usb_uuid = 'usb-SanDisk_Ultra_20060775320F43006019-0:0' %}
{% set usb_device_id = 0 %}
{% set uboot_mac_addr = '00:11:22:33:44:55' %}
{% set flasher_deploy_commands = ['/usr/local/bin/flash.sh {IMAGE}'] %}
{% set user_commands = {'relay_on': {'do': '/usr/bin/relay on 1', 'undo': '/usr/bin/relay off 1'},
                        'sleep': {'do': 'sleep 10'}} %}
{% set device_ip = '192.168.0.10' %}
{% set ssh_host = '192.168.0.10' %}
`;

/** Less common settings: named serial connections, VLANs, static addresses, media, flags. */
const UNUSUAL = `
{% set connection_list = ['uart0', 'uart1'] %}
{% set connection_commands = {'uart0': 'telnet localhost 4002', 'uart1': 'telnet 192.168.1.200 8001'} %}
{% set connection_tags = {'uart1': ['primary', 'telnet']} %}
{% set soft_reboot_command = 'adb -s 0123456789ABCDEF reboot' %}
{% set pre_power_command = '/usr/local/bin/usb-hub on 3' %}
{% set pre_os_command = '/usr/local/bin/usb-hub off 3' %}
{% set recovery_mode_command = ['/usr/bin/relay on 2', '/usr/bin/relay on 3'] %}
{% set recovery_exit_command = ['/usr/bin/relay off 2', '/usr/bin/relay off 3'] %}
{% set interfaces = ['eth0', 'eth1'] %}
{% set sysfs = {'eth0': '/sys/devices/pci0000:00/0000:00:19.0/net/eth0',
                'eth1': '/sys/devices/pci0000:00/0000:00:1c.1/0000:03:00.0/net/eth1'} %}
{% set mac_addr = {'eth0': 'f0:de:f1:46:8c:21', 'eth1': '00:24:d7:9b:c0:8c'} %}
{% set tags = {'eth0': ['1G', '10G'], 'eth1': ['1G']} %}
{% set map = {'eth0': {'192.168.0.2': 5}, 'eth1': {'192.168.0.2': 7}} %}
{% set static_ip = '10.0.0.5' %}
{% set static_gateway = '10.0.0.1' %}
{% set static_netmask = '255.255.255.0' %}
{% set static_dns = '10.0.0.1' %}
{% set sata_uuid = 'ata-ST160LM003_HN-M160MBB_S2SYJ9KC102184' %}
{% set sd_uuid = 'mmc-SD16G_0x0ed4c1e5' %}
{% set sd_label = 'SD16G' %}
{% set sd_device_id = 1 %}
{% set storage_info = [{'SATA': '/dev/disk/by-id/ata-ST500DM002-1BD142_W3T79GCW'}] %}
{% set environment = {'RELAY_ADDRESS': '10.66.16.103', 'REMOTE_SERIAL_PORT': 4002} %}
{% set uboot_error_messages = ['Bad Linux ARM zImage magic!', 'Unknown command'] %}
{% set append_dtb = true %}
{% set uboot_needs_usb = true %}
{% set uboot_set_mac = true %}
{% set use_xip = true %}
{% set has_dtb = false %}
{% set docker_devices = ['/dev/kvm', '/dev/net/tun'] %}
{% set docker_volumes = ['/var/lib/lava/dispatcher/tmp:/var/lib/lava/dispatcher/tmp'] %}
{% set extra_nfsroot_args = ',vers=3' %}
{% set booti_kernel_addr = '0x80080000' %}
{% set bootm_kernel_addr = '0x80000000' %}
{% set bootz_kernel_addr = '0x82000000' %}
{% set fastboot_options = ['-S', '256M'] %}
{% set fastboot_sequence = ['reboot'] %}
{% set flash_cmds_order = ['update', 'ptable', 'boot', 'system', 'userdata', ] %}
`;

const DICTIONARIES: Record<string, string> = { bare: "", typical: TYPICAL, unusual: UNUSUAL };

/** Job contexts as LAVA jobs send them; values survive JSON as they are (no floats). */
const CONTEXTS: Record<string, Record<string, unknown>> = {
  none: {},
  arm64: {
    arch: "arm64",
    extra_kernel_args: "rootwait quiet",
    boot_character_delay: 5,
    test_character_delay: 10,
    kernel_start_message: "Booting Linux",
    console_device: "ttyAMA0",
    baud_rate: 115200,
    machine: "virt",
    cpu: "cortex-a57",
    memory: 2048,
    extra_options: ["-smp", 2, "-global", "virtio-blk-device.scsi=off"],
    bootloader_prompt: "U-Boot>",
    custom_kernel_args: "earlycon",
  },
  amd64: {
    arch: "amd64",
    no_kvm: true,
    netdevice: "tap",
    guestfs_interface: "virtio",
    vga: "-vga none",
    failure_retry: 2,
    boot_retry: 3,
    shutdown_message: "reboot: Restarting system",
    lava_test_results_dir: "/lava-%s",
    test_character_delay: 0,
    docker_networks: ["bridge"],
  },
};

/** Every template × dictionary × context, in a fixed order. */
export function corpusCases(templates = corpusTemplates()): CorpusCase[] {
  return templates.flatMap((template) =>
    Object.entries(DICTIONARIES).flatMap(([dictionaryName, settings]) =>
      Object.entries(CONTEXTS).map(([contextName, context]) => ({
        template,
        dictionaryName,
        dictionary: `{% extends '${template.file}' %}\n${settings}`,
        contextName,
        context,
      }))
    )
  );
}

export type ReferenceRender = { output: string } | { error: string };

/**
 * LAVA's renders of the cases, by Python's Jinja2 in the environment of the LAVA
 * the template comes from: one process per search path, every case of that path in it.
 */
export async function lavaRenders(cases: readonly CorpusCase[]): Promise<ReferenceRender[]> {
  const script = new URL("./lava_templates.py", import.meta.url).pathname;
  const byPaths = new Map<string, number[]>();
  cases.forEach((c, i) => {
    const key = JSON.stringify([c.template.lava, c.template.paths]);
    byPaths.set(key, [...(byPaths.get(key) ?? []), i]);
  });
  const results: ReferenceRender[] = new Array(cases.length);
  await Promise.all([...byPaths].map(async ([key, indexes]) => {
    const [lava, paths] = JSON.parse(key);
    // Debian's interpreter: its python3-jinja2 is the Jinja2 LAVA 2023.01 runs with in Debian.
    const python = new Deno.Command("/usr/bin/python3", {
      args: [script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const request = {
      lava,
      paths,
      cases: indexes.map((i) => ({ dictionary: cases[i].dictionary, context: cases[i].context })),
    };
    const writer = python.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(request)));
    await writer.close();
    const output = await python.output();
    if (!output.success) {
      throw new Error(`the Jinja2 reference renderer failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    const rendered: ReferenceRender[] = JSON.parse(new TextDecoder().decode(output.stdout));
    indexes.forEach((caseIndex, j) => results[caseIndex] = rendered[j]);
  }));
  return results;
}
