/**
 * A simulated board on a serial line served by ser2net, as in a real lab:
 * worker/sim/board.ts (or qemu_board.ts, real firmware) on one end of a socat pty pair, Debian's ser2net 4
 * serving the other end over telnet on 127.0.0.1. The demo lab and the tests
 * use it; every process is started here and stopped by PID.
 */
import { existsSync as exists } from "node:fs";
import { signalChild } from "../../actors/process/signal_child.ts";
import { freePort } from "../drivers/free_port.ts";
import type { FirmwareMenuConfig } from "./firmware_menu.ts";
import type { DepthchargeConfig } from "./depthcharge.ts";
import type { FastbootConfig } from "./fastboot_bootloader.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

export class SimulatedBoard {
  readonly control: string;
  readonly transcript: string;
  readonly tty: string;
  #socat: Deno.ChildProcess | undefined;
  #ser2net: Deno.ChildProcess | undefined;

  private constructor(readonly dir: string, readonly port: number) {
    this.control = `${dir}/control.sock`;
    this.transcript = `${dir}/transcript.txt`;
    this.tty = `${dir}/tty`;
  }

  /**
   * The board, its pty and ser2net; `tickMs` paces U-Boot's autoboot countdown.
   * With `qemu` (a QEMU command line, given the board's directory), the board is
   * worker/sim/qemu_board.ts running real firmware instead of the scripted U-Boot.
   */
  static async start(
    options: {
      tickMs?: number;
      autoboot?: number;
      ser2net?: boolean;
      port?: number;
      qemu?: (dir: string) => string[];
      /** With `qemu`: firmware simulated in front of it, a numbered boot menu, depthcharge's command line or fastboot. */
      menu?: (dir: string) => FirmwareMenuConfig | DepthchargeConfig | FastbootConfig;
    } = {},
  ): Promise<SimulatedBoard> {
    // A short path: a unix socket's path is limited to about 100 bytes.
    const dir = await Deno.makeTempDir({ prefix: "basalt-board-", dir: "/tmp" });
    const board = new SimulatedBoard(dir, options.port ?? freePort());
    const common = ["--control", board.control, "--transcript", board.transcript];
    // socat reads ',' in its SYSTEM command as option syntax, and QEMU's options are full of them: a file carries them.
    const qemuArgs = `${dir}/qemu.json`;
    if (options.qemu) await Deno.writeTextFile(qemuArgs, JSON.stringify(options.qemu(dir)));
    const menu = options.menu ? [`--menu`, `${dir}/menu.json`] : [];
    if (options.menu) await Deno.writeTextFile(`${dir}/menu.json`, JSON.stringify(options.menu(dir)));
    const program = [
      Deno.execPath(),
      "run",
      "-A",
      ...(options.qemu ? [`${ROOT}worker/sim/qemu_board.ts`, ...common, "--qemu", qemuArgs, ...menu] : [
        `${ROOT}worker/sim/board.ts`,
        ...common,
        "--tick-ms",
        String(options.tickMs ?? 300),
        "--autoboot",
        String(options.autoboot ?? 3),
      ]),
    ].join(" ");
    board.#socat = new Deno.Command("socat", {
      args: [`PTY,link=${board.tty},raw,echo=0`, `SYSTEM:${program}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor(() => exists(board.control) && exists(board.tty), 20_000, "the simulated board");
    if (options.ser2net !== false) await board.startSer2net();
    return board;
  }

  async startSer2net(): Promise<void> {
    const config = `${this.dir}/ser2net.yaml`;
    // ser2net wants each connection to be named by a YAML anchor.
    await Deno.writeTextFile(
      config,
      [
        "connection: &board",
        `  accepter: telnet,tcp,127.0.0.1,${this.port}`,
        "  enable: on",
        `  connector: serialdev,${this.tty},115200n81,local`,
        "  options:",
        "    kickolduser: true",
        "    mdns: false",
        "",
      ].join("\n"),
    );
    this.#ser2net = new Deno.Command("ser2net", { args: ["-n", "-u", "-c", config], stdout: "null", stderr: "null" })
      .spawn();
    await waitFor(
      async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      "ser2net",
    );
  }

  /** Drops every connection to the board, as a ser2net restart does. */
  async stopSer2net(): Promise<void> {
    const child = this.#ser2net;
    this.#ser2net = undefined;
    if (!child) return;
    signalChild(child, "SIGKILL");
    await child.status;
  }

  /** Device dictionary lines for this board (Basalt's sim-uboot-board template unless another is named). */
  dictionary(extra = "", connection = `telnet 127.0.0.1 ${this.port}`, template = "sim-uboot-board.jinja2"): string {
    const power = (what: string) => `${Deno.execPath()} run -A ${ROOT}worker/sim/power.ts ${this.control} ${what}`;
    return [
      `{% extends '${template}' %}`,
      `{% set connection_command = '${connection}' %}`,
      `{% set power_on_command = '${power("on")}' %}`,
      `{% set power_off_command = '${power("off")}' %}`,
      `{% set hard_reset_command = '${power("reset")}' %}`,
      `{% set lava_test_results_dir = '${this.dir}/lava-%s' %}`,
      extra,
    ].join("\n");
  }

  async power(command: string): Promise<string> {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}worker/sim/power.ts`, this.control, ...command.split(" ")],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(run.stdout).trim();
  }

  async stop(): Promise<void> {
    await this.stopSer2net();
    if (this.#socat) {
      signalChild(this.#socat, "SIGTERM");
      await this.#socat.status;
    }
    // socat's SYSTEM child may outlive it; the board is found by its control socket, and a
    // QEMU it started by the board's directory on its command line.
    await new Deno.Command("pkill", { args: ["-f", "--", this.control] }).output();
    await new Deno.Command("pkill", { args: ["-KILL", "-f", "--", this.dir] }).output();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
