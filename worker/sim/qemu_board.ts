/**
 * A virtual board with real firmware, wired as a lab wires a board: its serial
 * line is this program's stdin and stdout (which socat puts on a pty that ser2net
 * serves), and a control socket is its power switch (worker/sim/power.ts). Power
 * on starts QEMU with the firmware the arguments after `--` name (iPXE's ROM,
 * U-Boot, OVMF...) and its serial port on this line; power off kills it. Between
 * the two the line stays open, as a board's UART does. With --menu, power-on
 * shows a numbered firmware boot menu first (worker/sim/firmware_menu.ts) — or a
 * Chromebook's depthcharge command line (worker/sim/depthcharge.ts, a MENU.json
 * with "kind": "depthcharge"), or an Android bootloader in fastboot mode
 * (worker/sim/fastboot_bootloader.ts, "kind": "fastboot") — and QEMU starts with
 * what was chosen, fetched or flashed. `fault ...` on the control socket arms the
 * fastboot bootloader's faults.
 *
 *   deno run -A worker/sim/qemu_board.ts --control SOCKET [--transcript FILE] --qemu ARGS.json [--menu MENU.json]
 *
 * ARGS.json is the QEMU command line as a JSON list: ["qemu-system-x86_64", "-m", "256", ...];
 * MENU.json the menu's entries (FirmwareMenuConfig).
 */
import { parseArgs } from "../../actors/cli/parse_args.ts";
import { dirname } from "../../actors/path.ts";
import { FirmwareMenu, type FirmwareMenuConfig } from "./firmware_menu.ts";
import { Depthcharge, type DepthchargeConfig } from "./depthcharge.ts";
import { FastbootBootloader, type FastbootConfig } from "./fastboot_bootloader.ts";

const { values } = parseArgs({
  options: {
    control: { type: "string" },
    transcript: { type: "string" },
    qemu: { type: "string" },
    menu: { type: "string" },
  },
});
const parsed: unknown = values.qemu ? JSON.parse(await Deno.readTextFile(values.qemu)) : [];
const qemu: string[] = Array.isArray(parsed) && parsed.every((a) => typeof a === "string") ? parsed : [];
if (!values.control || qemu.length === 0) {
  console.error("usage: qemu_board.ts --control SOCKET [--transcript FILE] --qemu ARGS.json (a list of strings)");
  Deno.exit(2);
}

const encoder = new TextEncoder();
const transcript = values.transcript
  ? await Deno.open(values.transcript, { write: true, create: true, append: true })
  : undefined;
const menuConfig: FirmwareMenuConfig | DepthchargeConfig | FastbootConfig | undefined = values.menu
  ? JSON.parse(await Deno.readTextFile(values.menu))
  : undefined;
let machine: { child: Deno.ChildProcess; stdin: WritableStreamDefaultWriter<Uint8Array> } | undefined;
/** Whether the firmware's menu has the line (between power-on and the entry it starts). */
let inMenu = false;

function show(text: string): void {
  const bytes = encoder.encode(text);
  Deno.stdout.writeSync(bytes);
  transcript?.writeSync(bytes);
}

const menuHost = {
  write: show,
  boot: (extra: readonly string[]) => {
    inMenu = false;
    startMachine(extra);
  },
  shutdown: () => void powerOff(),
  dir: dirname(values.menu ?? "."),
};
// One firmware for the board's life: the boot entries added in a menu stay across power cycles, as in flash.
function firmwareFor(config: FirmwareMenuConfig | DepthchargeConfig | FastbootConfig) {
  if ("kind" in config && config.kind === "depthcharge") return new Depthcharge(config, menuHost);
  if ("kind" in config && config.kind === "fastboot") return new FastbootBootloader(config, menuHost);
  return new FirmwareMenu(config as FirmwareMenuConfig, menuHost);
}
const menu = menuConfig && firmwareFor(menuConfig);

function powerOn(): void {
  if (!menu) return startMachine([]);
  inMenu = true;
  menu.start();
}

function startMachine(extra: readonly string[]): void {
  const child = new Deno.Command(qemu[0], {
    // The serial port on stdio, nothing else: no monitor, no display.
    args: [...qemu.slice(1), ...extra, "-nographic", "-monitor", "none", "-serial", "stdio"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const current = { child, stdin: child.stdin.getWriter() };
  machine = current;
  const relay = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      if (machine !== current) continue; // a machine being switched off says nothing more
      Deno.stdout.writeSync(chunk);
      transcript?.writeSync(chunk);
    }
  };
  relay(child.stdout).catch(() => {});
  relay(child.stderr).catch(() => {});
}

async function powerOff(): Promise<void> {
  menu?.stop();
  inMenu = false;
  const current = machine;
  machine = undefined;
  if (!current) return;
  try {
    current.child.kill("SIGKILL");
  } catch { /* already gone */ }
  await current.child.status;
}

async function control(socket: string): Promise<void> {
  await Deno.remove(socket).catch(() => {});
  const listener = Deno.listen({ transport: "unix", path: socket });
  for await (const conn of listener) {
    (async () => {
      const buffer = new Uint8Array(256);
      const n = await conn.read(buffer);
      const [command, ...args] = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim().split(/\s+/);
      let reply = "ok";
      if (command === "on") machine || inMenu ? (reply = "already on") : powerOn();
      else if (command === "off") await powerOff();
      else if (command === "reset") {
        await powerOff();
        powerOn();
      } else if (command === "state") reply = machine ? "on" : "off";
      else if (command === "fault" && menu instanceof FastbootBootloader) reply = menu.fault(args);
      else reply = `unknown command ${command}`;
      await conn.write(encoder.encode(`${reply}\n`));
      conn.close();
    })().catch(() => {});
  }
}

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => void powerOff().finally(() => Deno.exit(0)));
}
control(values.control);
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  // A powered-off board's UART takes what is typed and does nothing with it.
  if (inMenu) menu?.input(decoder.decode(chunk, { stream: true }));
  else await machine?.stdin.write(chunk).catch(() => {});
}
await powerOff();
