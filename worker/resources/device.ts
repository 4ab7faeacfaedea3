/**
 * The rendered device configuration (device.yaml) as typed resources: how to reach
 * the console, how to switch power, what each bootloader looks like, the network
 * and timing parameters. Read once when a job starts, so that a value of the wrong
 * shape is a ConfigurationError naming its key before anything is powered, and
 * drivers and strategies never walk the raw mapping.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { ConfigurationError } from "../job/errors.ts";

type Mapping = Record<string, unknown>;

/** A command the worker runs: one shell command line, or several in turn. */
export type CommandList = readonly string[];

export interface PowerCommands {
  readonly hardReset: CommandList;
  readonly powerOn: CommandList;
  readonly powerOff: CommandList;
  /** Run by `soft_reboot` in a boot action: commands typed on the device's shell. */
  readonly softReboot: CommandList;
  /** LAVA's pre_power_command and pre_os_command: run on the worker before power and before the OS. */
  readonly prePower: CommandList;
  readonly preOs: CommandList;
}

/**
 * One step of a bootloader's command set: a command line, or a structured step
 * (UEFI menus select items and wait for text: `{select: {items: [...]}}`).
 */
export type BootloaderStep = string | Readonly<Record<string, unknown>>;

/** What one bootloader of the device looks like: the configuration of the one bootloader driver. */
export interface BootloaderResource {
  /** The boot method this is for: `u-boot`, `grub`, `ipxe`, `barebox`, `depthcharge`, `uefi-menu`... */
  readonly method: string;
  readonly prompt: string;
  readonly interruptPrompt: string;
  readonly interruptCharacter: string;
  /** Control characters sent instead of (or before) the character, e.g. ["c"] for Ctrl-C. */
  readonly interruptControlCharacters: readonly string[];
  /** Whether a newline follows the interrupt character. */
  readonly interruptNewline: boolean;
  readonly needsInterrupt: boolean;
  /** Messages that mean a bootloader command failed. */
  readonly errorMessages: readonly string[];
  /** What the bootloader prints when it hands over to the kernel (`final-message`), awaited after the last command. */
  readonly finalMessage?: string;
  /** LAVA's deprecated `boot_message` parameter: when set, awaited instead of the kernel start message. */
  readonly bootMessage?: string;
  /** The MAC address iPXE passes to the kernel (`{LAVA_MAC}`), when the device gives one. */
  readonly lavaMac?: string;
  /** Named command lists (`ramdisk`, `nfs`, `nbd`...). */
  readonly commandSets: Readonly<Record<string, readonly BootloaderStep[]>>;
  /** What ends a typed line: "\r\n" for UEFI (LAVA's UEFI_LINE_SEPARATOR, or a menu's `line_separator: dos`). */
  readonly lineSeparator: string;
  /** A UEFI menu the device must go through to reach the shell (LAVA's `shell_menu`), if any. */
  readonly shellMenu?: string;
}

export interface UserCommand {
  readonly do: string;
  readonly undo?: string;
}

/** The device commands a job's `command` action may name besides the admin's, as LAVA's. */
const BUILTIN_COMMANDS = [
  "pre_power_command",
  "pre_os_command",
  "hard_reset",
  "power_on",
  "power_off",
  "recovery_mode",
  "recovery_exit",
];

export interface QemuResource {
  readonly command: string;
  readonly options: readonly string[];
  readonly extra: readonly string[];
  /** For `qemu-nfs`: the kernel command line's parts (`append`: console, root, nfsrootargs, ipargs). */
  readonly nfsAppend?: { readonly console: string; readonly nfsrootargs: string; readonly ipargs: string };
}

/** Load addresses for a kernel type (`bootz`, `booti`, `bootm`). */
export interface LoadAddresses {
  readonly kernel?: string;
  readonly ramdisk?: string;
  readonly dtb?: string;
  readonly tee?: string;
}

export interface DeviceResources {
  readonly hostname: string;
  readonly deviceType: string;
  /** The console connection command (`connection_command`), if the device has one. */
  readonly connect?: string;
  readonly power: PowerCommands;
  /** The admin's commands a job's `command` action may run, by name: what to do, and what undoes it at the end. */
  readonly userCommands: Readonly<Record<string, UserCommand>>;
  /** The device's own commands a `command` action may also name (LAVA's builtin commands), by name. */
  readonly builtinCommands: Readonly<Record<string, CommandList>>;
  readonly shellPrompt: string;
  readonly kernelStartMessage: string;
  /** What the OS prints when a soft reboot starts (`shutdown-message`). */
  readonly shutdownMessage: string;
  readonly testResultsDir: string;
  readonly characterDelays: { readonly boot: number; readonly test: number };
  readonly qemu?: QemuResource;
  readonly bootloaders: Readonly<Record<string, BootloaderResource>>;
  /** Every boot method the device configuration names (`actions.boot.methods`). */
  readonly bootMethods: readonly string[];
  /** Whether a grub-efi boot power-cycles the device (`actions.boot.methods.grub-efi.reset_device`, default yes). */
  readonly grubEfiReset: boolean;
  readonly loadAddresses: Readonly<Record<string, LoadAddresses>>;
  readonly target: { readonly ip?: string; readonly mac?: string };
  /** The storage a test may use (`storage_info`): a method (UMS, SATA...) and the device's ID for it. */
  /** The header a network-booted ramdisk is given, when the device needs one. */
  readonly ramdiskHeader?: { readonly type: "u-boot"; readonly mkimageArch: string };
  readonly storage: readonly { readonly method: string; readonly id: string }[];
  /**
   * What shapes a fastboot device's pipelines (base-fastboot's `flash_cmds_order`, `actions.boot.methods.fastboot`,
   * `fastboot_via_uboot`); checked where they are used (resources/fastboot.ts).
   */
  readonly fastboot: {
    readonly flashOrder: readonly string[];
    readonly sequence: readonly string[];
    readonly viaUboot: boolean;
  };
  readonly environment: Readonly<Record<string, string>>;
}

/** Reads a value at `path` of the configuration, naming the path when it has the wrong shape. */
export class Reader {
  constructor(readonly root: Mapping) {}

  at(path: readonly string[]): unknown {
    let value: unknown = this.root;
    for (const key of path) value = isMapping(value) ? value[key] : undefined;
    return value;
  }

  text(path: readonly string[], fallback: string): string;
  text(path: readonly string[]): string | undefined;
  text(path: readonly string[], fallback?: string): string | undefined {
    const value = this.at(path);
    if (value === undefined || value === null) return fallback;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
    throw wrong(path, "a string", value);
  }

  commands(path: readonly string[]): CommandList {
    const value = this.at(path);
    if (value === undefined || value === null) return [];
    if (typeof value === "string") return value.trim() ? [value] : [];
    if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")) {
      return value.map(String);
    }
    throw wrong(path, "a command or a list of commands", value);
  }

  steps(path: readonly string[]): BootloaderStep[] {
    const value = this.at(path);
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((step, i) => {
      if (typeof step === "string" || typeof step === "number") return String(step);
      if (isMapping(step)) return step;
      throw wrong([...path, String(i)], "a command or a menu step", step);
    });
  }

  mapping(path: readonly string[]): Mapping {
    const value = this.at(path);
    if (value === undefined || value === null) return {};
    if (isMapping(value)) return value;
    throw wrong(path, "a mapping", value);
  }

  number(path: readonly string[], fallback: number): number {
    const value = this.at(path);
    if (value === undefined || value === null) return fallback;
    const number = typeof value === "string" ? Number(value) : value;
    if (typeof number === "number" && Number.isFinite(number) && number >= 0) return number;
    throw wrong(path, "a number of at least 0", value);
  }

  flag(path: readonly string[], fallback: boolean): boolean {
    const value = this.at(path);
    if (value === undefined || value === null) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "True") return true;
    if (value === "false" || value === "False") return false;
    throw wrong(path, "true or false", value);
  }

  words(path: readonly string[]): string[] {
    const value = this.at(path);
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === "string" || typeof v === "number")) {
      throw wrong(path, "a string or a list of strings", value);
    }
    return list.map(String);
  }
}

/** The strings of a list (a shape is drawn from what there is; the actions check it whole). */
function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}

function wrong(path: readonly string[], expected: string, value: unknown): ConfigurationError {
  const shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  return new ConfigurationError(`device configuration ${path.join(".")}: must be ${expected}, not ${shown}`);
}

/** Kernel types and the names LAVA's templates use for their load addresses. */
const KERNEL_TYPES: Readonly<Record<string, string>> = { bootz: "zimage", booti: "image", bootm: "uimage" };

/** Keys of a boot method's section that are not command sets. */
const NOT_COMMAND_SETS = new Set(["parameters", "defaults"]);

function bootloaderOf(r: Reader, method: string): BootloaderResource {
  const base = ["actions", "boot", "methods", method];
  const parameters = [...base, "parameters"];
  const constants = ["constants", method];
  const commandSets: Record<string, readonly BootloaderStep[]> = {};
  for (const [name, set] of Object.entries(r.mapping(base))) {
    if (NOT_COMMAND_SETS.has(name) || !isMapping(set) || set.commands === undefined) continue;
    commandSets[name] = r.steps([...base, name, "commands"]);
  }
  // LAVA sends iPXE no interrupt character, only its control characters (Ctrl-B).
  const character = method === "ipxe"
    ? ""
    : r.text([...parameters, "interrupt_char"]) ?? r.text([...constants, "interrupt-character"], " ");
  // LAVA's UEFI shell is interrupted at its startup.nsh countdown, with a string of its own and no newline.
  const uefiShell = method === "uefi";
  const separator = r.text([...parameters, "line_separator"]);
  return {
    method,
    prompt: r.text([...parameters, "bootloader_prompt"]) ?? r.text([...constants, "bootloader-prompt"], "=>"),
    interruptPrompt: uefiShell
      ? r.text([...parameters, "shell_interrupt_prompt"], "any other key to continue")
      : r.text([...parameters, "interrupt_prompt"]) ??
        r.text([...constants, "interrupt-prompt"], "Hit any key to stop autoboot"),
    interruptCharacter: uefiShell ? r.text([...parameters, "shell_interrupt_string"], " ") : character,
    interruptControlCharacters: r.at([...parameters, "interrupt_ctrl_list"]) !== undefined
      ? r.words([...parameters, "interrupt_ctrl_list"])
      : r.words([...constants, "interrupt_ctrl_list"]),
    interruptNewline: uefiShell ? false : r.flag([...constants, "interrupt-newline"], true),
    lineSeparator: uefiShell || method === "uefi-menu" || separator === "dos" ? "\r\n" : "\n",
    ...optional("shellMenu", uefiShell ? r.text([...parameters, "shell_menu"]) || undefined : undefined),
    needsInterrupt: r.flag([...parameters, "needs_interrupt"], true),
    errorMessages: r.words([...constants, "error-messages"]),
    ...optional("finalMessage", r.text([...constants, "final-message"])),
    ...optional("bootMessage", r.text([...parameters, "boot_message"])),
    ...optional("lavaMac", macAddress(r, [...parameters, "lava_mac"])),
    commandSets,
  };
}

function macAddress(r: Reader, path: readonly string[]): string | undefined {
  const mac = r.text(path);
  if (mac !== undefined && !/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(mac)) {
    throw wrong(path, "a MAC address", mac);
  }
  return mac;
}

/** The header a network-booted ramdisk gets (`actions.deploy.parameters.add_header`), as LAVA's compress-ramdisk adds it. */
function ramdiskHeader(r: Reader): { readonly type: "u-boot"; readonly mkimageArch: string } | undefined {
  const path = ["actions", "deploy", "parameters", "add_header"];
  const header = r.text(path);
  if (header === undefined) return undefined;
  if (header !== "u-boot") throw wrong(path, "u-boot", header);
  const archPath = ["actions", "deploy", "parameters", "mkimage_arch"];
  const arch = r.text(archPath);
  if (!arch || !/^[a-z0-9_]+$/.test(arch)) {
    throw wrong(archPath, "an architecture for mkimage (add_header: u-boot)", arch);
  }
  return { type: header, mkimageArch: arch };
}

/** Reads a rendered device configuration (valid by device_schema.ts) into its resources. */
export function deviceResources(config: Mapping): DeviceResources {
  const r = new Reader(config);
  const methods = r.mapping(["actions", "boot", "methods"]);
  const bootloaders: Record<string, BootloaderResource> = {};
  // A boot method is a bootloader's when the device says what its prompt or interrupt looks like.
  for (const method of Object.keys(methods)) {
    const hasPrompt = r.at(["actions", "boot", "methods", method, "parameters", "bootloader_prompt"]) !== undefined ||
      r.at(["actions", "boot", "methods", method, "parameters", "interrupt_prompt"]) !== undefined ||
      r.at(["constants", method, "interrupt-prompt"]) !== undefined;
    if (hasPrompt) bootloaders[method] = bootloaderOf(r, method);
  }
  // As LAVA: a device with only `qemu-nfs` runs the QEMU that method describes.
  const qemuMethod = isMapping(r.at(["actions", "boot", "methods", "qemu"])) ? "qemu" : "qemu-nfs";
  const qemuPath = ["actions", "boot", "methods", qemuMethod, "parameters"];
  const qemuCommand = r.text([...qemuPath, "command"]);
  const appendPath = ["actions", "boot", "methods", "qemu-nfs", "parameters", "append"];
  const nfsAppend = isMapping(r.at(appendPath))
    ? {
      console: r.text([...appendPath, "console"]) ?? "ttyS0",
      nfsrootargs: r.text([...appendPath, "nfsrootargs"]) ?? "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard",
      ipargs: r.text([...appendPath, "ipargs"]) ?? "ip=dhcp",
    }
    : undefined;
  const loadAddresses: Record<string, LoadAddresses> = {};
  for (const [bootx, alias] of Object.entries(KERNEL_TYPES)) {
    const key = isMapping(r.at(["parameters", bootx])) ? bootx : isMapping(r.at(["parameters", alias])) ? alias : "";
    if (!key) continue;
    const path = ["parameters", key];
    loadAddresses[bootx] = {
      kernel: r.text([...path, "kernel"]),
      ramdisk: r.text([...path, "ramdisk"]),
      dtb: r.text([...path, "dtb"]),
      tee: r.text([...path, "tee"]),
    };
  }
  const users: Record<string, UserCommand> = {};
  for (const [name, command] of Object.entries(r.mapping(["commands", "users"]))) {
    if (!isMapping(command) || typeof command.do !== "string") {
      throw wrong(["commands", "users", name], "a mapping with a `do` command", command);
    }
    const undo = r.text(["commands", "users", name, "undo"]);
    users[name] = { do: command.do, ...(undo !== undefined ? { undo } : {}) };
  }
  const builtins: Record<string, CommandList> = {};
  for (const name of BUILTIN_COMMANDS) {
    const commands = r.commands(["commands", name]);
    if (commands.length > 0) builtins[name] = commands;
  }
  const storage: { method: string; id: string }[] = [];
  const storageInfo = r.at(["storage_info"]);
  if (storageInfo !== undefined && storageInfo !== null) {
    if (!Array.isArray(storageInfo)) throw wrong(["storage_info"], "a list of mappings", storageInfo);
    storageInfo.forEach((entry, i) => {
      if (!isMapping(entry)) throw wrong(["storage_info", String(i)], "a mapping of method to ID", entry);
      for (const [method, id] of Object.entries(entry)) {
        if (typeof id !== "string" && typeof id !== "number") {
          throw wrong(["storage_info", String(i), method], "a device ID", id);
        }
        storage.push({ method, id: String(id) });
      }
    });
  }
  const header = ramdiskHeader(r);
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.mapping(["environment"]))) environment[name] = String(value);
  return {
    hostname: r.text(["hostname"], ""),
    deviceType: r.text(["devicetype"], ""),
    connect: r.text(["commands", "connect"]),
    power: {
      hardReset: r.commands(["commands", "hard_reset"]),
      powerOn: r.commands(["commands", "power_on"]),
      powerOff: r.commands(["commands", "power_off"]),
      softReboot: r.commands(["commands", "soft_reboot"]),
      prePower: r.commands(["commands", "pre_power_command"]),
      preOs: r.commands(["commands", "pre_os_command"]),
    },
    userCommands: users,
    builtinCommands: builtins,
    shellPrompt: r.text(["constants", "default-shell-prompt"], "lava-test: # "),
    kernelStartMessage: r.text(["constants", "kernel-start-message"], "Linux version [0-9]"),
    shutdownMessage: r.text(["constants", "shutdown-message"], "The system is going down for reboot NOW"),
    testResultsDir: r.text(["constants", "posix", "lava_test_results_dir"], "/lava-%s"),
    characterDelays: {
      boot: r.number(["character_delays", "boot"], 0),
      test: r.number(["character_delays", "test"], 0),
    },
    ...(qemuCommand !== undefined
      ? {
        qemu: {
          command: qemuCommand,
          options: r.words([...qemuPath, "options"]),
          extra: r.words([...qemuPath, "extra"]),
          ...(nfsAppend ? { nfsAppend } : {}),
        },
      }
      : {}),
    bootloaders,
    bootMethods: Object.keys(methods),
    fastboot: {
      flashOrder: strings(r.at(["flash_cmds_order"])),
      sequence: strings(r.at(["actions", "boot", "methods", "fastboot"])),
      viaUboot: r.at(["fastboot_via_uboot"]) === true,
    },
    grubEfiReset: r.flag(["actions", "boot", "methods", "grub-efi", "reset_device"], true),
    loadAddresses,
    target: {
      ip: r.text(["parameters", "interfaces", "target", "ip"]) || undefined,
      mac: r.text(["parameters", "interfaces", "target", "mac"]) || undefined,
    },
    ...(header ? { ramdiskHeader: header } : {}),
    storage,
    environment,
  };
}
