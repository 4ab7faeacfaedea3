/**
 * The numbered boot menu of ARM's older EDK2 firmware (the one LAVA's
 * `uefi-menu`, `grub-efi` and `shell_menu` steer), simulated in front of real
 * firmware, since the firmware Debian ships for QEMU draws its menus with the
 * cursor instead. A countdown ("The default boot selection will start in"),
 * then "[1] ... Start:"; the Boot Manager adds TFTP boot entries through the
 * same questions that firmware asks. Choosing a fixed entry starts QEMU with
 * that entry's arguments (OVMF PXE-booting GRUB, OVMF's shell...); choosing a
 * TFTP entry really fetches its kernel and initrd over TFTP (curl) and starts
 * QEMU on them with the entry's arguments as the kernel's command line.
 */

import { fetchOverTftp } from "./tftp_fetch.ts";

/** The menu's configuration, as the board's --menu file holds it. */
export interface FirmwareMenuConfig {
  /** Seconds of countdown before the first entry boots by itself. */
  readonly countdown?: number;
  /** Entries that start QEMU with these extra arguments, after the TFTP entries in the main menu. */
  readonly entries: readonly { readonly label: string; readonly qemu: readonly string[] }[];
  /** The TFTP boot device the Boot Manager offers. */
  readonly tftp?: {
    readonly mac: string;
    /** Server addresses as the firmware's network sees them, and where this machine reaches them. */
    readonly hostFor?: Readonly<Record<string, string>>;
    /** Extra QEMU arguments for a kernel fetched this way (-kernel, -initrd and -append are added). */
    readonly qemu: readonly string[];
  };
}

export interface MenuHost {
  /** Writes to the serial line. */
  write(text: string): void;
  /** Starts the machine with these extra QEMU arguments (the menu's part is over). */
  boot(qemu: readonly string[]): void;
  /** Turns the board off (the menu's Shutdown). */
  shutdown(): void;
  /** Where fetched files go. */
  readonly dir: string;
}

interface TftpEntry {
  readonly label: string;
  readonly server: string;
  readonly kernel: string;
  readonly initrd?: string;
  readonly args: string;
}

type Item = { readonly label: string; readonly run: () => void | Promise<void> };

/** Longest line the menu reads: a line that never ends cannot grow without bound. */
const MAX_LINE = 4096;
/** Boot entries the Boot Manager keeps, across power cycles, as flash variables would. */
const MAX_ENTRIES = 16;

export class FirmwareMenu {
  readonly #entries: TftpEntry[] = [];
  #line = "";
  #afterCr = false;
  #onLine: ((line: string) => void) | undefined;
  #countdown: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** Ends this power cycle's transfers when the board is switched off. */
  #transfers = new AbortController();
  #boots = 0;

  constructor(private readonly config: FirmwareMenuConfig, private readonly host: MenuHost) {}

  /** Power-on: the countdown, then the first entry unless a key stops it. */
  start(): void {
    this.#stopped = false;
    this.#line = "";
    this.#transfers = new AbortController();
    this.host.write("\r\nUEFI firmware (numbered boot menu, simulated in front of QEMU's firmware)\r\n");
    let left = this.config.countdown ?? 5;
    this.#onLine = () => {};
    const tick = () => {
      if (this.#stopped || this.#countdown === undefined) return;
      if (left === 0) {
        this.#countdown = undefined;
        void this.#choose(this.#mainItems()[0]);
        return;
      }
      this.host.write(`The default boot selection will start in ${String(left).padStart(3)} seconds\r`);
      left--;
      this.#countdown = setTimeout(tick, 1000);
    };
    this.#countdown = setTimeout(tick, 0);
  }

  /** Characters from the serial line. */
  input(text: string): void {
    if (this.#stopped) return;
    if (this.#countdown !== undefined) {
      clearTimeout(this.#countdown);
      this.#countdown = undefined;
      this.host.write("\r\n");
      this.#mainMenu();
      return; // the key that stopped the countdown is not read as input
    }
    for (const character of text) {
      if (character === "\n" && this.#afterCr) {
        this.#afterCr = false; // "\r\n" ends one line, not two
        continue;
      }
      this.#afterCr = character === "\r";
      if (character === "\r" || character === "\n") {
        this.host.write("\r\n");
        const line = this.#line;
        this.#line = "";
        this.#onLine?.(line);
      } else if (character === "\x7f" || character === "\b") {
        this.#line = this.#line.slice(0, -1);
      } else if (this.#line.length < MAX_LINE && character >= " ") {
        this.#line += character;
        this.host.write(character);
      }
    }
  }

  /** Power-off: the menu and its transfers end; the boot entries stay. */
  stop(): void {
    this.#stopped = true;
    if (this.#countdown !== undefined) clearTimeout(this.#countdown);
    this.#countdown = undefined;
    this.#onLine = undefined;
    this.#transfers.abort();
  }

  #mainItems(): Item[] {
    return [
      ...this.#entries.map((entry) => ({ label: entry.label, run: () => this.#bootTftp(entry) })),
      ...this.config.entries.map((entry) => ({
        label: entry.label,
        run: () => {
          this.#finish();
          this.host.boot(entry.qemu);
        },
      })),
      { label: "Boot Manager", run: () => this.#bootManager() },
      { label: "Reboot", run: () => this.start() },
      {
        label: "Shutdown",
        run: () => {
          this.#finish();
          this.host.shutdown();
        },
      },
    ];
  }

  #mainMenu(): void {
    this.#menu(this.#mainItems(), "Start: ");
  }

  #bootManager(): void {
    const items: Item[] = [{ label: "Add Boot Device Entry", run: () => this.#addEntry() }];
    if (this.#entries.length > 0) items.push({ label: "Remove Boot Device Entry", run: () => this.#removeEntry() });
    items.push({ label: "Return to main menu", run: () => this.#mainMenu() });
    this.#menu(items, "Choice: ");
  }

  #menu(items: readonly Item[], prompt: string): void {
    this.host.write(items.map((item, i) => `[${i + 1}] ${item.label}\r\n`).join("") + prompt);
    this.#onLine = (line) => {
      const choice = Number(line.trim());
      const item = Number.isInteger(choice) ? items[choice - 1] : undefined;
      if (!item) {
        this.host.write(`Invalid input: ${JSON.stringify(line.slice(0, 40))}\r\n`);
        this.#menu(items, prompt);
        return;
      }
      void this.#choose(item);
    };
  }

  async #choose(item: Item | undefined): Promise<void> {
    await item?.run();
  }

  #finish(): void {
    this.#onLine = undefined;
  }

  /** Questions in turn, each answer kept; `done` with the answers once all are given. */
  #ask(questions: readonly string[], done: (answers: string[]) => void): void {
    const answers: string[] = [];
    const next = () => {
      if (answers.length === questions.length) return done(answers);
      this.host.write(questions[answers.length]);
    };
    this.#onLine = (line) => {
      answers.push(line.trim());
      next();
    };
    next();
  }

  #addEntry(): void {
    const tftp = this.config.tftp;
    const devices: Item[] = tftp
      ? [{
        label: `TFTP on MAC Address: ${tftp.mac}`,
        run: () =>
          this.#ask([
            "Get the IP address from DHCP: [y/n] ",
            "Get the TFTP server IP address: ",
            "File path of the EFI Application or the kernel : ",
            "Is an EFI Application? [y/n] ",
            "Has FDT support? [y/n] ",
            "Add an initrd: [y/n] ",
          ], ([dhcp, server, kernel, , , initrd]) => {
            const finish = (initrdPath?: string) =>
              this.#ask(["Arguments to pass to the binary: ", "Description for this new Entry: "], ([args, label]) => {
                if (dhcp.toLowerCase() !== "y") {
                  this.host.write("Only an address from DHCP is supported on this network\r\n");
                } else if (this.#entries.length >= MAX_ENTRIES) {
                  this.host.write("No room for another boot entry\r\n");
                } else {
                  this.#entries.push({ label: label || "Untitled", server, kernel, args, initrd: initrdPath });
                }
                this.#bootManager();
              });
            if (initrd.toLowerCase() === "y") this.#ask(["File path of the initrd: "], ([path]) => finish(path));
            else finish();
          }),
      }]
      : [];
    this.host.write("\r\n");
    this.#menu(devices, "Select the Boot Device: ");
  }

  #removeEntry(): void {
    this.#menu(
      this.#entries.map((entry, i) => ({
        label: entry.label,
        run: () => {
          this.#entries.splice(i, 1);
          this.#bootManager();
        },
      })),
      "Delete entry: ",
    );
  }

  async #bootTftp(entry: TftpEntry): Promise<void> {
    this.#finish();
    const tftp = this.config.tftp!;
    const host = tftp.hostFor?.[entry.server] ?? entry.server;
    const signal = this.#transfers.signal;
    // Each boot's files apart: a transfer of a board switched off meanwhile cannot overwrite the next boot's.
    const boot = `${this.host.dir}/boot-${++this.#boots}`;
    await Deno.remove(`${this.host.dir}/boot-${this.#boots - 1}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(boot, { recursive: true });
    const fetch = async (path: string, name: string): Promise<string | undefined> => {
      if (signal.aborted) return undefined;
      const file = `${boot}/${name}`;
      this.host.write(`Downloading ${path} from ${entry.server}\r\n`);
      const error = await fetchOverTftp(host, path, file, signal);
      if (error === undefined) return file;
      if (!signal.aborted) this.host.write(`TFTP Error: ${error}\r\n`);
      return undefined;
    };
    const kernel = await fetch(entry.kernel, "kernel");
    const initrd = kernel && entry.initrd ? await fetch(entry.initrd, "initrd") : undefined;
    if (signal.aborted) return;
    if (!kernel || (entry.initrd && !initrd)) {
      this.#mainMenu();
      return;
    }
    this.host.write("Loaded: LinuxImage\r\n");
    this.host.boot([
      ...tftp.qemu,
      "-kernel",
      kernel,
      ...(initrd ? ["-initrd", initrd] : []),
      "-append",
      entry.args,
    ]);
  }
}
