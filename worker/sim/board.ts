/**
 * A simulated board for tests and the demo lab: on its serial line (stdin and
 * stdout, which socat puts on a pty that ser2net serves) it behaves like a small
 * ARM board running U-Boot and then Linux with a real shell (busybox sh), so the
 * u-boot boot flow and the test shell run against it unchanged. A control socket
 * takes power commands (on, off, reset) and faults to inject (garbage bytes, a
 * hang, a kernel panic, a kernel warning), `reboot` at its shell reboots it, and everything the board prints is also written to a
 * transcript, so tests can check that no line was lost or duplicated.
 *
 *   deno run -A worker/sim/board.ts --control /run/board.sock [--transcript FILE]
 *       [--autoboot 3] [--tick-ms 1000] [--overlay-prefix tmp/]
 */
import { parseArgs } from "../../actors/cli/parse_args.ts";
import { dirname, join, normalize } from "../../actors/path.ts";
import { readInitramfs } from "./newc.ts";
import { signalChild } from "../../actors/process/signal_child.ts";

const { values } = parseArgs({
  options: {
    control: { type: "string" },
    transcript: { type: "string" },
    autoboot: { type: "string", default: "3" },
    "tick-ms": { type: "string", default: "1000" },
    "overlay-prefix": { type: "string", default: "tmp/" },
    prompt: { type: "string", default: "=> " },
  },
});

type Fault = "none" | "garbage" | "hang" | "panic" | "warn";
type State = "off" | "countdown" | "uboot" | "booting" | "linux";

const encoder = new TextEncoder();
const transcript = values.transcript
  ? await Deno.open(values.transcript, { write: true, create: true, append: true })
  : undefined;
let state: State = "off";
let fault: Fault = "none";
let generation = 0; // bumps on every power change, cancelling what the old one scheduled
let line = "";
const env = new Map<string, string>([["bootdelay", values.autoboot!]]);
const loaded = new Map<string, string>(); // load address -> file
let shell: Deno.ChildProcess | undefined;
let shellWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
const tick = Number(values["tick-ms"]);

function out(text: string): void {
  if (state === "off") return;
  const bytes = encoder.encode(text);
  Deno.stdout.writeSync(bytes);
  transcript?.writeSync(bytes);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function powerOn(): Promise<void> {
  const mine = ++generation;
  await stopShell();
  state = "countdown";
  line = "";
  out("\r\nU-Boot SPL 2024.01 (Basalt simulated board)\r\nTrying to boot from MMC1\r\n\r\n");
  out("U-Boot 2024.01 (Basalt simulated board)\r\n\r\nCPU  : ARMv7 Processor (simulated)\r\nDRAM:  512 MiB\r\n");
  if (fault === "garbage") {
    out(String.fromCharCode(...Array.from({ length: 64 }, (_, i) => (i * 37 + 0x80) % 256)) + "\r\n");
  }
  if (fault === "hang") return; // never gets further
  const delay = Number(env.get("bootdelay") ?? "3");
  for (let left = delay; left > 0; left--) {
    if (generation !== mine || state !== "countdown") return;
    out(`\rHit any key to stop autoboot: ${left} `);
    await sleep(tick);
  }
  if (generation !== mine || state !== "countdown") return;
  out("\r\n");
  await bootKernel(mine, "bootz 0x40400000 - 0x44000000");
}

async function powerOff(): Promise<void> {
  generation++;
  await stopShell();
  state = "off";
}

async function stopShell(): Promise<void> {
  const child = shell;
  shell = undefined;
  shellWriter = undefined;
  if (!child) return;
  signalChild(child, "SIGKILL");
  await child.status;
}

function ubootPrompt(): void {
  state = "uboot";
  out(values.prompt!);
}

/** U-Boot commands, enough of them for LAVA's command lists. */
async function uboot(command: string): Promise<void> {
  const [name, ...args] = command.trim().split(/\s+/);
  switch (name) {
    case "":
      break;
    case "setenv":
      env.set(args[0], args.slice(1).join(" "));
      break;
    case "printenv":
      for (const [k, v] of env) out(`${k}=${v}\r\n`);
      break;
    case "version":
      out("U-Boot 2024.01 (Basalt simulated board)\r\n");
      break;
    case "dhcp":
      out("BOOTP broadcast 1\r\nDHCP client bound to address 10.0.0.5 (3 ms)\r\n");
      env.set("ipaddr", "10.0.0.5");
      break;
    case "tftp": {
      const [address, file] = args;
      const path = file?.startsWith("/") ? file : `/${file ?? ""}`;
      try {
        const size = (await Deno.stat(path)).size;
        loaded.set(address, path);
        env.set("filesize", size.toString(16));
        out(
          `Using ethernet@4a100000 device\r\nTFTP from server ${
            env.get("serverip") ?? "?"
          }; our IP address is 10.0.0.5\r\nFilename '${file}'.\r\nLoad address: ${address}\r\nLoading: ##################################################\r\ndone\r\nBytes transferred = ${size} (${
            size.toString(16)
          } hex)\r\n`,
        );
      } catch {
        out(`TFTP error: 'File not found' (1)\r\nNot retrying...\r\n`);
      }
      break;
    }
    case "bootz":
    case "booti":
    case "bootm":
    case "boot":
      return await bootKernel(generation, command);
    default:
      out(`Unknown command '${name}' - try 'help'\r\n`);
  }
  ubootPrompt();
}

/** "Boots Linux": kernel messages, the overlay from the loaded ramdisk, then a shell. */
async function bootKernel(mine: number, command: string): Promise<void> {
  state = "booting";
  const ramdisk = command.split(/\s+/)[2];
  out("Kernel image @ 0x40400000 [ 0x000000 - 0x500000 ]\r\n## Flattened Device Tree blob at 44000000\r\n");
  out("\r\nStarting kernel ...\r\n\r\n");
  await sleep(Math.min(tick, 200));
  if (generation !== mine) return;
  out("[    0.000000] Booting Linux on physical CPU 0x0\r\n");
  out("[    0.000000] Linux version 6.1.0-sim (basalt@simulator) (gcc 12.2.0) #1 SMP\r\n");
  out("[    0.000000] Machine model: Basalt simulated board\r\n");
  if (fault === "warn") {
    out("[    0.500000] ------------[ cut here ]------------\r\n");
    out("[    0.500001] WARNING: CPU: 0 PID: 1 at drivers/sim/board.c:42 sim_probe+0x10/0x20\r\n");
    out("[    0.500002] Modules linked in:\r\n");
    out("[    0.500003] ---[ end trace 0000000000000000 ]---\r\n");
  }
  if (fault === "panic") {
    out("[    1.234567] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n");
    out(
      "[    1.234568] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---\r\n",
    );
    return;
  }
  const path = ramdisk && ramdisk !== "-" ? loaded.get(ramdisk) : undefined;
  if (path) await unpackOverlay(path);
  out("[    1.500000] Run /init as init process\r\n");
  if (generation !== mine) return;
  startShell();
}

/** Puts the files of the ramdisk's appended segments (the test overlay) in place. */
async function unpackOverlay(path: string): Promise<void> {
  let files;
  try {
    files = readInitramfs(await Deno.readFile(path));
  } catch (error) {
    out(`[    1.000000] Initramfs unpacking failed: ${(error as Error).message}\r\n`);
    return;
  }
  const prefix = values["overlay-prefix"]!;
  for (const file of files) {
    const name = normalize(file.name);
    if (!name.startsWith(prefix) || name.includes("..")) continue;
    const target = join("/", name);
    const type = file.mode & 0o170000;
    if (type === 0o040000) await Deno.mkdir(target, { recursive: true });
    else if (type === 0o100000) {
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeFile(target, file.data, { mode: file.mode & 0o777 });
      await Deno.chmod(target, file.mode & 0o777);
    }
  }
}

function startShell(): void {
  state = "linux";
  shell = new Deno.Command("busybox", {
    args: ["sh", "-i"],
    env: { PS1: "/ # ", HOME: "/tmp", TERM: "dumb" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: "/tmp",
  }).spawn();
  shellWriter = shell.stdin.getWriter();
  const relay = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out(decoder.decode(chunk, { stream: true }).replace(/\r?\n/g, "\r\n"));
  };
  relay(shell.stdout).catch(() => {});
  relay(shell.stderr).catch(() => {});
}

/**
 * `reboot` at the shell reboots the simulated board (never reaching the host's
 * busybox, which would try to reboot the machine the tests run on).
 */
function softReboot(): void {
  out("\r\nBroadcast message from root@basalt-sim:\r\n\r\nThe system is going down for reboot NOW!\r\n");
  out("[   42.000000] reboot: Restarting system\r\n");
  void powerOn();
}

async function input(bytes: Uint8Array): Promise<void> {
  if (state === "off" || state === "booting") return;
  const text = new TextDecoder().decode(bytes);
  if (state === "countdown") {
    out("\r\n");
    return ubootPrompt();
  }
  for (const ch of text) {
    if (ch === "\r" || ch === "\n") {
      out("\r\n");
      const command = line;
      line = "";
      if (state === "uboot") await uboot(command);
      else if (state === "linux" && /^\s*reboot(\s|$)/.test(command)) softReboot();
      else if (state === "linux") await shellWriter?.write(encoder.encode(`${command}\n`)).catch(() => {});
    } else if (ch === "\x03") {
      line = "";
      out("^C\r\n");
    } else {
      line += ch;
      out(ch);
    }
  }
}

async function control(): Promise<void> {
  if (!values.control) return;
  await Deno.remove(values.control).catch(() => {});
  const listener = Deno.listen({ transport: "unix", path: values.control });
  for await (const conn of listener) {
    (async () => {
      const buffer = new Uint8Array(256);
      const n = await conn.read(buffer);
      const [command, argument] = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim().split(/\s+/);
      let reply = "ok";
      if (command === "on") state === "off" ? void powerOn() : (reply = "already on");
      else if (command === "off") await powerOff();
      else if (command === "reset") void powerOn();
      else if (command === "fault" && ["none", "garbage", "hang", "panic", "warn"].includes(argument)) {
        fault = argument as Fault;
      } else if (command === "state") reply = state;
      else reply = `unknown command ${command}`;
      await conn.write(encoder.encode(`${reply}\n`));
      conn.close();
    })().catch(() => {});
  }
}

control();
for await (const chunk of Deno.stdin.readable) await input(chunk);
