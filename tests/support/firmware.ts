/**
 * Virtual boards on real firmware for tests and benchmarks: QEMU with the
 * firmware Debian ships, behind socat and ser2net with a power switch
 * (worker/sim/qemu_board.ts), its TFTP root the worker's, and jobs for them.
 */
import { stringify } from "yaml";
import { SimulatedBoard } from "../../worker/sim/lab_board.ts";
import { dutFile } from "./dut.ts";
import { inlineTest } from "../../ops/dut_jobs.ts";

/** An x86 PC booting from its e1000 NIC through QEMU's own iPXE ROM; QEMU serves `tftpRoot` to it at 10.0.2.2. */
export async function ipxeBoard(): Promise<{ board: SimulatedBoard; tftpRoot: string; dispatcherConfig: string }> {
  const board = await SimulatedBoard.start({
    qemu: (dir) => [
      "qemu-system-x86_64",
      "-m",
      "256",
      "-boot",
      "n",
      "-netdev",
      `user,id=n0,tftp=${dir}/tftp`,
      "-device",
      "e1000,netdev=n0",
    ],
  });
  const tftpRoot = `${board.dir}/tftp`;
  await Deno.mkdir(tftpRoot);
  return { board, tftpRoot, dispatcherConfig: stringify({ tftp_root: tftpRoot, dispatcher_ip: "10.0.2.2" }) };
}

/** The board's device dictionary on Basalt's x86 template, with `extra` lines. */
export function ipxeDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  // iPXE on a BIOS takes one typed character per timer tick (55 ms). Typed faster, a backlog
  // builds up along telnet, ser2net and the pty, and under load the telnet client was seen to
  // lose part of it (LAVA's default, 500 ms, is far on the safe side).
  return board.dictionary(["{% set boot_character_delay = 60 %}", ...extra].join("\n"), undefined, "x86.jinja2");
}

/** A LAVA ipxe job: the DUT's kernel and ramdisk over TFTP, then `steps` in the test shell. */
export function ipxeJob(steps: string[], name = "ipxe ramdisk"): Record<string, unknown> {
  return {
    device_type: "x86",
    job_name: name,
    visibility: "public",
    timeouts: { job: { minutes: 6 }, action: { minutes: 3 } },
    actions: [
      {
        deploy: {
          to: "tftp",
          kernel: { url: `file://${dutFile("vmlinuz")}` },
          ramdisk: { url: `file://${dutFile("initramfs")}`, compression: "gz" },
          os: "oe",
        },
      },
      { boot: { method: "ipxe", commands: "ramdisk", prompts: ["/ # "] } },
      { test: { timeout: { minutes: 2 }, definitions: [inlineTest("pc", steps)] } },
    ],
  };
}

/** Resolves once `check` holds, re-checked whenever something under `path` changes (inotify, no polling). */
export async function whenChanged(
  path: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const watcher = Deno.watchFs(path);
  const timer = setTimeout(() => watcher.close(), timeoutMs);
  try {
    if (await check()) return;
    for await (const _ of watcher) if (await check()) return;
    throw new Error(`no ${what} within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch { /* closed by the timer */ }
  }
}
