/**
 * An Android-style board's bootloader in fastboot mode (a HiKey or a
 * DragonBoard with its boot switch set), simulated in front of QEMU: at power-on
 * it says "Android Fastboot mode" on the serial line and answers fastboot's TCP
 * transport, so Debian's real `fastboot -s tcp:127.0.0.1:PORT` client drives it
 * — getvar, download, flash (raw and sparse images), erase, boot, continue,
 * reboot, reboot-bootloader, oem. Partitions are files in the board's directory
 * and, as flash, outlive power cycles. `boot` (a downloaded boot image) and
 * `continue`/`reboot` (the `boot` partition's) take the Android boot image
 * apart with Debian's `unpack_bootimg` and start QEMU on its kernel, ramdisk and
 * command line, the configured partitions attached as virtio disks.
 *
 * Faults for tests, armed through the board's control socket: `vanish` (the
 * device drops off the bus halfway through the next download — never answers
 * again — until power-cycled) and `refuse PARTITION` (flashing it fails as a locked
 * partition's does); `clear` disarms both.
 */
import type { MenuHost } from "./firmware_menu.ts";
import { FastbootTcpSession } from "./fastboot_tcp.ts";
import { isSparseImage, sparseExtents, writeExtents } from "./android_sparse.ts";

export interface FastbootConfig {
  readonly kind: "fastboot";
  /** The TCP port the device answers on, on 127.0.0.1 (fastboot's default is 5554). */
  readonly port: number;
  readonly serialno: string;
  readonly product?: string;
  /** The largest single download, in bytes (the client splits bigger sparse images). */
  readonly maxDownload?: number;
  /** Partition names and sizes in bytes. */
  readonly partitions: Readonly<Record<string, number>>;
  /** Partitions attached to the booted machine as virtio disks, in this order (vda, vdb...). */
  readonly disks?: readonly string[];
  /** Extra QEMU arguments for the kernel booted (-kernel, -initrd, -append and the disks are added). */
  readonly qemu: readonly string[];
}

const BOOT_MAGIC = "ANDROID!";
const DEFAULT_MAX_DOWNLOAD = 64 << 20;

export class FastbootBootloader {
  #listener: Deno.Listener | undefined;
  #session: FastbootTcpSession | undefined;
  #download: Uint8Array | undefined;
  #vanish = false;
  readonly #refused = new Set<string>();
  #boots = 0;
  /** Raised at power-off: nothing this power cycle started goes on. */
  #cycle = new AbortController();

  constructor(private readonly config: FastbootConfig, private readonly host: MenuHost) {}

  get #maxDownload(): number {
    return this.config.maxDownload ?? DEFAULT_MAX_DOWNLOAD;
  }

  #partitionFile(name: string): string {
    return `${this.host.dir}/partitions/${name}.img`;
  }

  /** Power-on: fastboot mode. */
  start(): void {
    this.#cycle = new AbortController();
    this.#download = undefined;
    this.host.write("\r\nBasalt simulated fastboot board\r\n");
    this.#listen().catch((error) => {
      // The listener closed under its loop (switched off, rebooted, vanished) is no failure.
      if (!(error instanceof Deno.errors.BadResource)) {
        this.host.write(`fastboot: ${error instanceof Error ? error.message : error}\r\n`);
      }
    });
  }

  stop(): void {
    this.#cycle.abort();
    this.#disappear();
  }

  /** Keys typed on the serial line in fastboot mode change nothing. */
  input(_text: string): void {}

  /** A fault from the control socket; the reply says what is armed. */
  fault(args: readonly string[]): string {
    const [what, partition] = args;
    if (what === "vanish") this.#vanish = true;
    else if (what === "refuse" && partition) this.#refused.add(partition);
    else if (what === "clear") {
      this.#vanish = false;
      this.#refused.clear();
    } else return "usage: fault vanish | refuse PARTITION | clear";
    return `ok${this.#vanish ? " vanish" : ""}${[...this.#refused].map((p) => ` refuse:${p}`).join("")}`;
  }

  async #listen(): Promise<void> {
    await Deno.mkdir(`${this.host.dir}/partitions`, { recursive: true });
    for (const [name, size] of Object.entries(this.config.partitions)) {
      const file = await Deno.open(this.#partitionFile(name), { write: true, create: true });
      if ((await file.stat()).size !== size) await file.truncate(size);
      file.close();
    }
    const signal = this.#cycle.signal;
    if (signal.aborted) return;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.config.port });
    this.host.write(`Android Fastboot mode\r\nfastboot: tcp port ${this.config.port}\r\n`);
    const listener = this.#listener;
    for await (const conn of listener) {
      // One host at a time, as on USB: the next client waits for this one to finish.
      const session = new FastbootTcpSession(conn);
      this.#session = session;
      try {
        if (await session.handshake()) await this.#serve(session, signal);
      } catch { /* the client went away */ }
      session.close();
      if (this.#session === session) this.#session = undefined;
      if (signal.aborted || this.#listener !== listener) return;
    }
  }

  /** Off the bus: no listener, no session. */
  #disappear(): void {
    const listener = this.#listener;
    this.#listener = undefined;
    try {
      listener?.close();
    } catch { /* closed */ }
    this.#session?.close();
    this.#session = undefined;
  }

  async #serve(session: FastbootTcpSession, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const command = await session.command();
      if (command === undefined) return;
      const [verb, ...rest] = command.split(":");
      const argument = rest.join(":");
      if (verb === "getvar") await this.#getvar(session, argument);
      else if (verb === "download") {
        if (!await this.#receive(session, argument)) return;
      } else if (verb === "flash") await this.#flash(session, argument);
      else if (verb === "erase") await this.#erase(session, argument);
      else if (verb === "boot") {
        if (await this.#bootDownloaded(session)) return;
      } else if (verb === "continue" || verb === "reboot") {
        await session.send("OKAY");
        this.#leave(`${verb === "reboot" ? "Rebooting" : "Continuing"}...`);
        void this.#bootImage(this.#partitionFile("boot"), "boot partition");
        return;
      } else if (verb === "reboot-bootloader") {
        await session.send("OKAY");
        this.#leave("Rebooting into the bootloader...");
        setTimeout(() => signal.aborted || this.start(), 200);
        return;
      } else if (command.startsWith("oem ")) await this.#oem(session, command.slice(4).trim());
      else await session.send(`FAILunknown command ${command.slice(0, 40)}`);
    }
  }

  /** The session's last answer is sent: the device leaves fastboot mode. */
  #leave(message: string): void {
    this.#disappear();
    this.host.write(`${message}\r\n`);
  }

  #variables(): Map<string, string> {
    const vars = new Map<string, string>([
      ["version", "0.4"],
      ["version-bootloader", "basalt-sim-1"],
      ["product", this.config.product ?? "basalt-fastboot"],
      ["serialno", this.config.serialno],
      ["secure", "no"],
      ["unlocked", "yes"],
      ["is-userspace", "no"],
      ["max-download-size", `0x${this.#maxDownload.toString(16)}`],
    ]);
    for (const [name, size] of Object.entries(this.config.partitions)) {
      vars.set(`partition-size:${name}`, `0x${size.toString(16)}`);
      vars.set(`partition-type:${name}`, name === "userdata" || name === "cache" ? "ext4" : "raw");
      vars.set(`has-slot:${name}`, "no");
      vars.set(`is-logical:${name}`, "no");
    }
    return vars;
  }

  async #getvar(session: FastbootTcpSession, name: string): Promise<void> {
    const vars = this.#variables();
    if (name === "all") {
      for (const [key, value] of vars) await session.send(`INFO${key}: ${value}`);
      return session.send("OKAY");
    }
    const value = vars.get(name);
    await session.send(value === undefined ? "FAILVariable not implemented" : `OKAY${value}`);
  }

  /** `download:%08x`: false when the session is over (the client or the device went away). */
  async #receive(session: FastbootTcpSession, hex: string): Promise<boolean> {
    const size = /^[0-9a-fA-F]{1,8}$/.test(hex) ? parseInt(hex, 16) : NaN;
    if (!(size > 0)) {
      await session.send("FAILbad download size");
      return true;
    }
    if (size > this.#maxDownload) {
      await session.send(`FAILdata too large (max ${this.#maxDownload})`);
      return true;
    }
    await session.send(`DATA${size.toString(16).padStart(8, "0")}`);
    const data = new Uint8Array(size);
    let have = 0;
    const vanishAt = this.#vanish ? Math.floor(size / 2) : Infinity;
    const complete = await session.data(size, (piece) => {
      data.set(piece, have);
      have += piece.length;
      if (have >= vanishAt) throw new VanishedError();
    }).catch(async (error) => {
      if (!(error instanceof VanishedError)) throw error;
      this.host.write("fastboot: USB link lost\r\n");
      // Off the bus: no new connection is taken, and the client's gets no answer ever again — neither end of stream
      // nor reset, which Debian's client (29.0.6) answers by reading again and again for ever — until the board is
      // switched off. What the client sends meanwhile stays unread.
      const listener = this.#listener;
      this.#listener = undefined;
      try {
        listener?.close();
      } catch { /* closed */ }
      const off = this.#cycle.signal;
      await new Promise((resolve) => off.aborted ? resolve(undefined) : off.addEventListener("abort", resolve));
      return false;
    });
    if (!complete) return false;
    this.#download = data;
    await session.send("OKAY");
    return true;
  }

  async #flash(session: FastbootTcpSession, partition: string): Promise<void> {
    const size = this.config.partitions[partition];
    const image = this.#download;
    if (size === undefined) return session.send(`FAILunknown partition ${partition.slice(0, 40)}`);
    if (this.#refused.has(partition)) {
      return session.send(`FAILflashing is not allowed for locked partition ${partition}`);
    }
    if (!image) return session.send("FAILno image downloaded");
    let extents;
    if (isSparseImage(image)) {
      extents = sparseExtents(image, size);
      if (typeof extents === "string") return session.send(`FAILbad sparse image: ${extents}`);
    } else {
      if (image.length > size) return session.send(`FAILimage is ${image.length} bytes, ${partition} ${size}`);
      extents = [{ offset: 0, bytes: image }];
    }
    await session.send(`INFOwriting '${partition}'`);
    const file = await Deno.open(this.#partitionFile(partition), { write: true });
    try {
      await writeExtents(file, extents);
    } finally {
      file.close();
    }
    this.host.write(
      `fastboot: flashed ${partition} (${image.length} bytes${isSparseImage(image) ? ", sparse" : ""})\r\n`,
    );
    await session.send("OKAY");
  }

  async #erase(session: FastbootTcpSession, partition: string): Promise<void> {
    const size = this.config.partitions[partition];
    if (size === undefined) return session.send(`FAILunknown partition ${partition.slice(0, 40)}`);
    if (this.#refused.has(partition)) {
      return session.send(`FAILerasing is not allowed for locked partition ${partition}`);
    }
    const file = await Deno.open(this.#partitionFile(partition), { write: true });
    try {
      await file.truncate(0);
      await file.truncate(size);
    } finally {
      file.close();
    }
    await session.send("OKAY");
  }

  /** `boot`: true when the device left fastboot mode to boot the downloaded image. */
  async #bootDownloaded(session: FastbootTcpSession): Promise<boolean> {
    const image = this.#download;
    if (!image || new TextDecoder("latin1").decode(image.subarray(0, 8)) !== BOOT_MAGIC) {
      await session.send("FAILnot an Android boot image");
      return false;
    }
    const file = `${this.host.dir}/downloaded-boot.img`;
    await Deno.writeFile(file, image);
    await session.send("OKAY");
    this.#leave("Booting the downloaded image...");
    void this.#bootImage(file, "downloaded image");
    return true;
  }

  async #oem(session: FastbootTcpSession, command: string): Promise<void> {
    if (command === "device-info") {
      await session.send("INFODevice tampered: false");
      await session.send("INFODevice unlocked: true");
      await session.send(`INFOSerial: ${this.config.serialno}`);
      return session.send("OKAY");
    }
    await session.send(`FAILunknown oem command ${command.slice(0, 40)}`);
  }

  /** Unpacks an Android boot image and starts QEMU on it; when it cannot, says why and goes back to fastboot mode. */
  async #bootImage(image: string, what: string): Promise<void> {
    const signal = this.#cycle.signal;
    const dir = `${this.host.dir}/boot-${++this.#boots}`;
    await Deno.remove(`${this.host.dir}/boot-${this.#boots - 1}`, { recursive: true }).catch(() => {});
    const head = new Uint8Array(8);
    const file = await Deno.open(image);
    await file.read(head).finally(() => file.close());
    let reason: string | undefined;
    let header = "";
    if (new TextDecoder("latin1").decode(head) !== BOOT_MAGIC) reason = "no Android boot image";
    else {
      const out = await new Deno.Command("unpack_bootimg", {
        args: ["--boot_img", image, "--out", dir],
        stdout: "piped",
        stderr: "piped",
        signal,
      }).output().catch((error) => ({ success: false, stdout: new Uint8Array(), stderr: String(error) }));
      header = new TextDecoder().decode(out.stdout);
      if (!out.success) reason = `unpack_bootimg failed: ${String(out.stderr).slice(0, 200)}`;
    }
    if (signal.aborted) return;
    if (reason) {
      this.host.write(`Cannot boot the ${what}: ${reason}\r\n`);
      return this.start();
    }
    const field = (name: string) => new RegExp(`^${name}: ?(.*)$`, "m").exec(header)?.[1].trim() ?? "";
    const cmdline = [field("command line args"), field("additional command line args")].filter(Boolean).join(" ");
    const ramdisk = await Deno.stat(`${dir}/ramdisk`).then((s) => s.size > 0, () => false);
    this.host.write(`Booting the ${what}: ${cmdline}\r\n`);
    this.host.boot([
      ...this.config.qemu,
      ...(this.config.disks ?? []).flatMap((name) => [
        "-drive",
        `if=virtio,format=raw,file=${this.#partitionFile(name)}`,
      ]),
      "-kernel",
      `${dir}/kernel`,
      ...(ramdisk ? ["-initrd", `${dir}/ramdisk`] : []),
      "-append",
      cmdline,
    ]);
  }
}

class VanishedError extends Error {}
