/**
 * The command line of a Chromebook's "dev" depthcharge (what LAVA's depthcharge
 * boot types at), simulated in front of QEMU: at power-on it prints its start
 * message and the `dpch:` prompt; `tftpboot SERVER KERNEL CMDLINE [RAMDISK]`
 * really fetches the kernel, the command-line file and the ramdisk over TFTP
 * (curl) and starts QEMU on them, the file's line as the kernel's command line.
 * A FIT image (arm Chromebooks) is refused as not simulated.
 */
import type { MenuHost } from "./firmware_menu.ts";
import { fetchOverTftp } from "./tftp_fetch.ts";

export interface DepthchargeConfig {
  readonly kind: "depthcharge";
  /** The board's name, in the start message. */
  readonly board?: string;
  /** Server addresses as the firmware's network sees them, and where this machine reaches them. */
  readonly hostFor?: Readonly<Record<string, string>>;
  /** Extra QEMU arguments for the kernel fetched (-kernel, -initrd and -append are added). */
  readonly qemu: readonly string[];
}

const MAX_LINE = 4096;
/** A FIT image starts with a device tree's magic. */
const FIT_MAGIC = [0xd0, 0x0d, 0xfe, 0xed];

export class Depthcharge {
  #line = "";
  #reading = false;
  #transfers = new AbortController();
  #boots = 0;

  constructor(private readonly config: DepthchargeConfig, private readonly host: MenuHost) {}

  start(): void {
    this.#transfers = new AbortController();
    this.#line = "";
    const board = this.config.board ?? "basalt-chromebook";
    this.host.write(`\r\ncoreboot (simulated)\r\nStarting depthcharge on ${board}...\r\n`);
    this.host.write(`Starting netboot on ${board}...\r\n`);
    this.#prompt();
  }

  stop(): void {
    this.#reading = false;
    this.#transfers.abort();
  }

  input(text: string): void {
    if (!this.#reading) return;
    for (const character of text) {
      if (character === "\r" || character === "\n") {
        if (!this.#reading) return;
        this.host.write("\r\n");
        const line = this.#line.trim();
        this.#line = "";
        if (line) {
          this.#reading = false;
          this.#run(line).catch((error) => {
            // The simulated firmware says what went wrong and stays usable, as a real one would after a failed command.
            this.host.write(`Error: ${error instanceof Error ? error.message : error}\r\n`);
            if (!this.#transfers.signal.aborted) this.#prompt();
          });
        }
      } else if (character === "\x7f" || character === "\b") {
        this.#line = this.#line.slice(0, -1);
      } else if (this.#line.length < MAX_LINE && character >= " ") {
        this.#line += character;
        this.host.write(character);
      }
    }
  }

  #prompt(): void {
    this.host.write("dpch: ");
    this.#reading = true;
  }

  async #run(line: string): Promise<void> {
    const [command, ...args] = line.split(/\s+/);
    if (command === "help") {
      this.host.write("Commands: tftpboot SERVER KERNEL CMDLINE [RAMDISK], help\r\n");
    } else if (command !== "tftpboot") {
      this.host.write(`Command not found: ${command.slice(0, 40)}\r\n`);
    } else if (args.length < 3 || args.length > 4) {
      this.host.write("Usage: tftpboot SERVER KERNEL CMDLINE [RAMDISK]\r\n");
    } else if (await this.#tftpboot(args[0], args[1], args[2], args[3])) {
      return;
    }
    if (!this.#transfers.signal.aborted) this.#prompt();
  }

  /** Fetches and boots; false (with the reason printed) when it cannot. */
  async #tftpboot(server: string, kernelPath: string, cmdlinePath: string, ramdiskPath?: string): Promise<boolean> {
    const signal = this.#transfers.signal;
    const host = this.config.hostFor?.[server] ?? server;
    const dir = `${this.host.dir}/boot-${++this.#boots}`;
    await Deno.remove(`${this.host.dir}/boot-${this.#boots - 1}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (const [path, name] of [[kernelPath, "kernel"], [cmdlinePath, "cmdline"], [ramdiskPath, "ramdisk"]]) {
      if (!path) continue;
      this.host.write(`Fetching ${path} from ${server}\r\n`);
      const error = await fetchOverTftp(host, path, `${dir}/${name}`, signal);
      if (signal.aborted) return true;
      if (error !== undefined) {
        this.host.write(`TFTP failed for ${path}: ${error}\r\n`);
        return false;
      }
      files.push(`${dir}/${name}`);
    }
    const head = new Uint8Array(4);
    const kernel = await Deno.open(`${dir}/kernel`);
    await kernel.read(head).finally(() => kernel.close());
    if (FIT_MAGIC.every((b, i) => head[i] === b)) {
      this.host.write("This simulated Chromebook boots a kernel and ramdisk apart, not a FIT image\r\n");
      return false;
    }
    const cmdline = (await Deno.readTextFile(`${dir}/cmdline`)).split("\n")[0].slice(0, MAX_LINE);
    // Switched off while the files were read: nothing starts.
    if (signal.aborted) return true;
    this.host.write("Starting kernel ...\r\n");
    this.host.boot([
      ...this.config.qemu,
      "-kernel",
      `${dir}/kernel`,
      ...(ramdiskPath ? ["-initrd", `${dir}/ramdisk`] : []),
      "-append",
      cmdline,
    ]);
    return true;
  }
}
