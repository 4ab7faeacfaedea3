/**
 * The command line of a Chromebook's "dev" depthcharge (what LAVA's depthcharge
 * boot types at), simulated in front of QEMU: at power-on it prints its start
 * message and the `dpch:` prompt; `tftpboot SERVER KERNEL CMDLINE [RAMDISK]`
 * really fetches the kernel, the command-line file and the ramdisk over TFTP
 * (curl) and starts QEMU on them, the file's line as the kernel's command line.
 * A FIT image (what arm Chromebooks boot) is taken apart with u-boot-tools'
 * `dumpimage` — kernel (lzma-decompressed when packed so), device tree, ramdisk;
 * QEMU's virt machine keeps its own device tree.
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
    for (const [path, name] of [[kernelPath, "kernel"], [cmdlinePath, "cmdline"], [ramdiskPath, "ramdisk"]]) {
      if (!path) continue;
      this.host.write(`Fetching ${path} from ${server}\r\n`);
      const error = await fetchOverTftp(host, path, `${dir}/${name}`, signal);
      if (signal.aborted) return true;
      if (error !== undefined) {
        this.host.write(`TFTP failed for ${path}: ${error}\r\n`);
        return false;
      }
    }
    const head = new Uint8Array(4);
    const kernelFile = await Deno.open(`${dir}/kernel`);
    await kernelFile.read(head).finally(() => kernelFile.close());
    let boot: BootFiles = { kernel: `${dir}/kernel`, ...(ramdiskPath ? { ramdisk: `${dir}/ramdisk` } : {}) };
    if (FIT_MAGIC.every((b, i) => head[i] === b)) {
      const unpacked = await unpackFit(`${dir}/kernel`, dir, signal);
      if (typeof unpacked === "string") {
        this.host.write(`Bad FIT image: ${unpacked}\r\n`);
        return false;
      }
      boot = unpacked;
      // QEMU's virt machine boots with the device tree it makes itself: a tree dumped from it and handed back with
      // -dtb does not boot under Debian's QEMU, so the FIT's is only checked to be there.
      if (!boot.dtb) {
        this.host.write("Bad FIT image: no device tree in it\r\n");
        return false;
      }
    }
    const cmdline = (await Deno.readTextFile(`${dir}/cmdline`)).split("\n")[0].slice(0, MAX_LINE);
    // Switched off while the files were read: nothing starts.
    if (signal.aborted) return true;
    this.host.write("Starting kernel ...\r\n");
    this.host.boot([
      ...this.config.qemu,
      "-kernel",
      boot.kernel,
      ...(boot.ramdisk ? ["-initrd", boot.ramdisk] : []),
      "-append",
      cmdline,
    ]);
    return true;
  }
}

/** What QEMU boots. */
interface BootFiles {
  readonly kernel: string;
  readonly ramdisk?: string;
  readonly dtb?: string;
}

/** A FIT image's parts, as `dumpimage -l` lists and `dumpimage -p N` extracts them; a string says what is wrong. */
async function unpackFit(
  fit: string,
  dir: string,
  signal: AbortSignal,
): Promise<BootFiles | string> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped", signal })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim().slice(0, 200));
    return out.stdout;
  };
  try {
    const listing = new TextDecoder().decode(await run(["dumpimage", "-l", fit]));
    // "Image N (name)" blocks, each with its Type and Compression.
    const images = [...listing.matchAll(/Image (\d+) \([^)]*\)\n((?: {2}.*\n?)*)/g)].map(([, index, body]) => ({
      index,
      type: /Type:\s+(.+)/.exec(body)?.[1].trim() ?? "",
      compression: /Compression:\s+(.+)/.exec(body)?.[1].trim() ?? "",
    }));
    const extract = async (type: string, name: string): Promise<string | undefined> => {
      const image = images.find((i) => i.type === type);
      if (!image) return undefined;
      const file = `${dir}/fit-${name}`;
      await run(["dumpimage", "-T", "flat_dt", "-p", image.index, "-o", file, fit]);
      if (image.compression.startsWith("lzma")) {
        await Deno.writeFile(`${file}.raw`, await run(["unlzma", "-c", file]));
        return `${file}.raw`;
      }
      if (image.compression !== "uncompressed") throw new Error(`${name} is ${image.compression}`);
      return file;
    };
    const kernel = await extract("Kernel Image", "kernel");
    if (!kernel) return "no kernel in it";
    return {
      kernel,
      ramdisk: await extract("RAMDisk Image", "ramdisk"),
      dtb: await extract("Flat Device Tree", "dtb"),
    };
  } catch (error) {
    return (error as Error).message;
  }
}
