/**
 * Virtual boards on real firmware for tests and benchmarks: QEMU with the
 * firmware Debian ships, behind socat and ser2net with a power switch
 * (worker/sim/qemu_board.ts), its TFTP root the worker's, and jobs for them.
 */
import { stringify } from "yaml";
import { SimulatedBoard } from "../../worker/sim/lab_board.ts";
import type { FirmwareMenuConfig } from "../../worker/sim/firmware_menu.ts";
import type { DepthchargeConfig } from "../../worker/sim/depthcharge.ts";
import { freePort } from "../../worker/drivers/free_port.ts";
import { startTftpServer } from "./tftp_server.ts";
import { dutFile } from "./dut.ts";
import {
  arm64DepthchargeJob as arm64DepthchargeJobFor,
  arm64UbootJob,
  netbootJob,
  pcNetbootJob,
} from "../../ops/dut_jobs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * An x86 PC booting from its e1000 NIC through QEMU's own iPXE ROM; QEMU serves
 * `tftpRoot` to it at 10.0.2.2 and, with `bootfile`, names that file in its DHCP
 * answer, which iPXE then boots (a PXE image such as GRUB's).
 */
export function ipxeBoard(bootfile?: string): Promise<FirmwareBoard> {
  return netbootBoard((dir) => [
    "qemu-system-x86_64",
    ...["-m", "256", "-boot", "n"],
    ...[
      "-netdev",
      `user,id=n0,tftp=${dir}/tftp${bootfile ? `,bootfile=${bootfile}` : ""}`,
      "-device",
      "e1000,netdev=n0",
    ],
  ]);
}

/** A board and the dispatcher configuration that puts a job's files where QEMU's own TFTP server serves them. */
export interface FirmwareBoard {
  readonly board: SimulatedBoard;
  readonly tftpRoot: string;
  readonly dispatcherConfig: string;
  /** Stops what was started beside the board for it (an NFS server), if anything. */
  readonly release?: () => Promise<void>;
}

/**
 * Starts a board whose QEMU (`qemu`, given the board's directory) serves `<dir>/tftp` at 10.0.2.2 — or whose
 * bootloader fetches from `serverIp`, a server on this machine that QEMU's user network passes it on to.
 */
async function netbootBoard(
  qemu: (dir: string) => string[],
  serverIp = "10.0.2.2",
  menu?: (dir: string) => FirmwareMenuConfig | DepthchargeConfig,
): Promise<FirmwareBoard> {
  const board = await SimulatedBoard.start({ qemu, menu });
  const tftpRoot = `${board.dir}/tftp`;
  await Deno.mkdir(tftpRoot);
  return { board, tftpRoot, dispatcherConfig: stringify({ tftp_root: tftpRoot, dispatcher_ip: serverIp }) };
}

/** Debian's U-Boot for QEMU's arm64 virt machine (u-boot-qemu). */
export const UBOOT_ARM64 = "/usr/lib/u-boot/qemu_arm64/u-boot.bin";

/**
 * An arm64 board: QEMU's virt machine running Debian's U-Boot (or another `firmware` in its flash), its virtio NIC
 * on QEMU's user network, which serves `tftpRoot` at 10.0.2.2 — or, with `hostTftp`, has the board fetch from
 * 127.0.0.1, which QEMU's user network passes on to this machine's loopback, for a TFTP server the test starts
 * there (QEMU answers every TFTP request to 10.0.2.2 itself, with an error when it serves nothing).
 */
export function ubootBoard(options: { firmware?: string; hostTftp?: boolean } = {}): Promise<FirmwareBoard> {
  return netbootBoard((dir) => [
    "qemu-system-aarch64",
    // The machine the device image's virt.dtb was dumped from (tools/build-dut-image.sh).
    ...["-M", "virt", "-cpu", "cortex-a57", "-m", "512"],
    ...["-bios", options.firmware ?? UBOOT_ARM64],
    ...["-netdev", `user,id=n0${options.hostTftp ? "" : `,tftp=${dir}/tftp`}`, "-device", "virtio-net-pci,netdev=n0"],
  ], options.hostTftp ? "127.0.0.1" : undefined);
}

/** The U-Boot board's device dictionary on Basalt's qemu-aarch64-uboot template, with `extra` lines. */
export function ubootDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  return board.dictionary(
    ["{% set boot_character_delay = 5 %}", ...extra].join("\n"),
    undefined,
    "qemu-aarch64-uboot.jinja2",
  );
}

/**
 * A LAVA u-boot job for the arm64 board on the device image's files (with `extra.files`, such as an nfsrootfs, booted
 * by `extra.commands`), then `steps`.
 */
export function ubootJob(
  steps: string[],
  name = "u-boot ramdisk",
  ramdisk?: Record<string, unknown>,
  extra: { files?: Record<string, unknown>; commands?: string; context?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return arm64UbootJob(dutFile, steps, name, ramdisk, extra);
}

/**
 * A LAVA u-boot job for the arm64 board booting onto an NFS root: the device image's busybox system as the
 * nfsrootfs, its NFS-client initramfs, LAVA's `nfs` command set, the root served at `nfsPort` (LAVA's
 * extra_nfsroot_args in the job's context: QEMU's user network reaches the worker's port, not 2049).
 */
export function ubootNfsJob(steps: string[], name: string, nfsPort: number): Record<string, unknown> {
  return ubootJob(steps, name, { url: `file://${dutFile("arm64/initramfs-nfs")}`, compression: "gz" }, {
    files: { nfsrootfs: { url: `file://${dutFile("arm64/nfsrootfs.tar.gz")}`, compression: "gz" } },
    commands: "nfs",
    context: { extra_nfsroot_args: `,vers=4,port=${nfsPort}` },
  });
}

/**
 * A LAVA nbd job for the arm64 board: its Image, the device image's NBD-client initrd and device tree over TFTP,
 * the busybox system's ext4 image as the nbdroot served by the job's own nbd-server (`lava-xnbd` on a free port),
 * LAVA's `nbd` command set, and the overlay sent after login (`transfer_overlay`, as LAVA's NBD jobs must).
 */
export function ubootNbdJob(steps: string[], name: string): Record<string, unknown> {
  const job = netbootJob({
    deviceType: "qemu-aarch64-uboot",
    method: "u-boot",
    name,
    to: "nbd",
    files: {
      kernel: { url: `file://${dutFile("arm64/Image")}`, type: "image" },
      initrd: { url: `file://${dutFile("arm64/initramfs-nbd")}` },
      nbdroot: { url: `file://${dutFile("arm64/nbdroot.ext4")}` },
      dtb: { url: `file://${dutFile("arm64/virt.dtb")}` },
    },
    suite: "arm64",
    steps,
    commands: "nbd",
    boot: { transfer_overlay: { download_command: "wget -q", unpack_command: "tar -C / -xzf" } },
  });
  return { ...job, protocols: { "lava-xnbd": { port: "auto" } } };
}

/** A PC whose PXE firmware boots GRUB (tools/build-grub-netboot.sh) from the worker's TFTP root. */
export async function grubBoard(): Promise<FirmwareBoard> {
  return withGrub(await ipxeBoard("grub.pxe"));
}

/** `pc` with GRUB for BIOS and UEFI netboots in its TFTP root (tools/build-grub-netboot.sh). */
async function withGrub(pc: FirmwareBoard): Promise<FirmwareBoard> {
  const built = await new Deno.Command(`${ROOT}tools/build-grub-netboot.sh`, { args: [pc.tftpRoot], stderr: "piped" })
    .output();
  if (!built.success) {
    await pc.board.stop();
    throw new Error(`tools/build-grub-netboot.sh failed: ${new TextDecoder().decode(built.stderr)}`);
  }
  return pc;
}

/**
 * A PC on Debian's OVMF whose UEFI starts its shell first (tools/build-uefi-pc.sh), a blank FAT disk as fs0: for
 * what the shell fetches, and a virtio NIC without QEMU's iPXE ROM on QEMU's user network, which serves `tftpRoot`.
 */
export async function uefiBoard(): Promise<FirmwareBoard> {
  const firmware = await Deno.makeTempDir({ prefix: "basalt-uefi-" });
  const built = await new Deno.Command(`${ROOT}tools/build-uefi-pc.sh`, { args: [firmware], stderr: "piped" }).output();
  if (!built.success) {
    await Deno.remove(firmware, { recursive: true });
    throw new Error(`tools/build-uefi-pc.sh failed: ${new TextDecoder().decode(built.stderr)}`);
  }
  const pc = await netbootBoard((dir) => [
    "qemu-system-x86_64",
    // OVMF faults under TCG with less than 512 MiB.
    ...["-nodefaults", "-machine", "q35", "-m", "512"],
    ...["-drive", `if=pflash,format=raw,readonly=on,file=${firmware}/OVMF_CODE.fd`],
    ...["-drive", `if=pflash,format=raw,file=${firmware}/OVMF_VARS.fd`],
    ...["-drive", `file=${firmware}/scratch.fat,format=raw,if=virtio`],
    ...["-netdev", `user,id=n0,tftp=${dir}/tftp`, "-device", "virtio-net-pci,netdev=n0,romfile="],
  ]);
  return { ...pc, release: () => Deno.remove(firmware, { recursive: true }) };
}

/** Debian's OVMF (the ovmf package), as tools/build-uefi-pc.sh finds it. */
const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/**
 * `pc` with a real TFTP server on its TFTP root (dnsmasq on this machine's loopback, which the board's simulated
 * firmware reaches as 10.0.2.2), stopped with what `pc` releases.
 */
export async function withTftpServer(pc: FirmwareBoard): Promise<FirmwareBoard> {
  const tftpd = await startTftpServer(pc.tftpRoot).catch(async (error) => {
    await pc.board.stop();
    await pc.release?.();
    throw error;
  });
  return {
    ...pc,
    release: async () => {
      await tftpd.kill();
      await pc.release?.();
    },
  };
}

/** The MAC address the numbered menu's TFTP boot device has (worker/sim/firmware_menu.ts). */
export const MENU_TFTP_MAC = "52:54:00:12:34:56";

/**
 * A PC whose firmware shows a numbered boot menu (worker/sim/firmware_menu.ts) in front of QEMU: its "LAVA PXE
 * Grub" entry starts Debian's OVMF, which PXE-boots GRUB EFI (tools/build-grub-netboot.sh) from QEMU's TFTP
 * server on the worker's TFTP root; a TFTP entry added in its Boot Manager fetches the kernel and initrd from
 * 10.0.2.2, which is this machine's loopback (as on QEMU's user network), where `tftp` must serve the same root.
 */
export async function menuBoard(): Promise<FirmwareBoard> {
  const pc = await netbootBoard(() => ["qemu-system-x86_64", "-nodefaults", "-m", "512"], "10.0.2.2", (dir) => ({
    countdown: 5,
    entries: [{
      label: "LAVA PXE Grub",
      qemu: [
        ...["-machine", "q35"],
        ...["-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`],
        ...["-drive", `if=pflash,format=raw,file=${dir}/OVMF_VARS.fd`],
        ...["-netdev", `user,id=n0,tftp=${dir}/tftp,bootfile=grubx64.efi`],
        ...["-device", "virtio-net-pci,netdev=n0,romfile="],
      ],
    }],
    tftp: {
      mac: MENU_TFTP_MAC,
      hostFor: { "10.0.2.2": "127.0.0.1" },
      qemu: ["-netdev", "user,id=n0", "-device", `e1000,netdev=n0,mac=${MENU_TFTP_MAC}`],
    },
  }));
  try {
    // A fresh variable store: OVMF then boots its network card first, which QEMU's DHCP answers with GRUB EFI.
    await Deno.copyFile(OVMF_VARS, `${pc.board.dir}/OVMF_VARS.fd`);
  } catch (error) {
    await pc.board.stop();
    throw new Error(`cannot copy ${OVMF_VARS} (Debian's ovmf package): ${(error as Error).message}`);
  }
  return withGrub(pc);
}

/**
 * A Chromebook (x86, or arm64 on QEMU's virt machine): depthcharge's command line (worker/sim/depthcharge.ts) in
 * front of QEMU; its `tftpboot` fetches from 10.0.2.2, which is this machine's loopback (as on QEMU's user network),
 * where `tftp` must serve the worker's TFTP root.
 */
export function depthchargeBoard(arch: "x86" | "arm64" = "x86"): Promise<FirmwareBoard> {
  const qemu = arch === "x86"
    ? ["qemu-system-x86_64", "-m", "256"]
    // The machine the device image's virt.dtb was dumped from (tools/build-dut-image.sh).
    : ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-m", "512"];
  return netbootBoard(() => qemu, "10.0.2.2", () => ({
    kind: "depthcharge",
    hostFor: { "10.0.2.2": "127.0.0.1" },
    qemu: ["-netdev", "user,id=n0", "-device", `${arch === "x86" ? "e1000" : "virtio-net-pci"},netdev=n0`],
  }));
}

/** The Chromebook's device dictionary on Basalt's x86-depthcharge (or arm64-depthcharge) template, with `extra` lines. */
export function depthchargeDictionary(
  board: SimulatedBoard,
  extra: readonly string[] = [],
  template = "x86-depthcharge",
): string {
  return board.dictionary(extra.join("\n"), undefined, `${template}.jinja2`);
}

/** A LAVA depthcharge job for the arm64 Chromebook: the device image's Image, ramdisk and device tree, then `steps`. */
export function arm64DepthchargeJob(steps: string[], name: string): Record<string, unknown> {
  return arm64DepthchargeJobFor(dutFile, steps, name);
}

/** The menu PC's device dictionary on Basalt's x86-uefi-menu template, with `extra` lines. */
export function menuDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  return board.dictionary(
    [`{% set tftp_mac = '${MENU_TFTP_MAC}' %}`, ...extra].join("\n"),
    undefined,
    "x86-uefi-menu.jinja2",
  );
}

/** The UEFI PC's device dictionary on Basalt's x86-uefi template, with `extra` lines. */
export function uefiDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  return board.dictionary(extra.join("\n"), undefined, "x86-uefi.jinja2");
}

/** The GRUB PC's device dictionary on Basalt's x86-grub template, with `extra` lines. */
export function grubDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  // Commands are typed as fast as GRUB echoes them, not at the template's 100 ms.
  return board.dictionary(
    ["{% set boot_character_delay = 10 %}", ...extra].join("\n"),
    undefined,
    "x86-grub.jinja2",
  );
}

/** The board's device dictionary on Basalt's x86 template, with `extra` lines. */
export function ipxeDictionary(board: SimulatedBoard, extra: readonly string[] = []): string {
  // Commands are typed as fast as iPXE echoes them, not at LAVA's 500 ms default: iPXE reads keys
  // from the BIOS, whose console redirection (SeaBIOS's, under QEMU -nographic) takes one from
  // the serial line per timer tick (55 ms).
  return board.dictionary(["{% set boot_character_delay = 10 %}", ...extra].join("\n"), undefined, "x86.jinja2");
}

/** A LAVA ipxe job (or, with `method` and its device type, grub or uefi) for a PC on the device image's files. */
export function ipxeJob(
  steps: string[],
  name = "ipxe ramdisk",
  boot: { method: string; deviceType: string } = { method: "ipxe", deviceType: "x86" },
): Record<string, unknown> {
  return pcNetbootJob(dutFile, steps, name, boot);
}

/**
 * An Android-style arm64 board in fastboot mode at power-on (worker/sim/fastboot_bootloader.ts), answering Debian's
 * fastboot client on a TCP port of 127.0.0.1; what it boots is QEMU's virt machine with the flashed `userdata` as its
 * virtio disk and a virtio NIC on QEMU's user network.
 */
export async function fastbootBoard(): Promise<{ board: SimulatedBoard; serial: string }> {
  const port = freePort();
  const board = await SimulatedBoard.start({
    qemu: () => [
      "qemu-system-aarch64",
      ...["-M", "virt", "-cpu", "cortex-a57", "-m", "512"],
      ...["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"],
    ],
    menu: () => ({
      kind: "fastboot",
      port,
      serialno: `basalt-fastboot-${port}`,
      // Smaller than the boot image: the client sends it as several sparse images, as to a real board.
      maxDownload: 16 << 20,
      partitions: { boot: 64 << 20, userdata: 64 << 20, cache: 8 << 20 },
      disks: ["userdata"],
      qemu: [],
    }),
  });
  return { board, serial: `tcp:127.0.0.1:${port}` };
}

/** The fastboot board's device dictionary on Basalt's fastboot template, with `extra` lines. */
export function fastbootDictionary(board: SimulatedBoard, serial: string, extra: readonly string[] = []): string {
  return board.dictionary(
    [`{% set fastboot_serial_number = '${serial}' %}`, "{% set boot_character_delay = 5 %}", ...extra].join("\n"),
    undefined,
    "fastboot.jinja2",
  );
}
