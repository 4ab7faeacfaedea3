/**
 * Every strategy Basalt's dispatcher has: what it runs, and so what a worker tells
 * its master it can run. A new method is a module beside these and a line here.
 */
import { StrategyRegistry } from "./strategy.ts";
import { downloadDeploy } from "./deploy/download.ts";
import { overlayDeploy } from "./deploy/overlay.ts";
import { nfsDeploy } from "./deploy/nfs.ts";
import { nbdDeploy } from "./deploy/nbd.ts";
import { tftpDeploy } from "./deploy/tftp.ts";
import { tmpfsDeploy } from "./deploy/tmpfs.ts";
import { sshDeploy } from "./deploy/ssh.ts";
import { fastbootDeploy } from "./deploy/fastboot.ts";
import { bootloaderBoot } from "./boot/bootloader.ts";
import { grubBoot } from "./boot/grub.ts";
import { ipxeBoot } from "./boot/ipxe.ts";
import { minimalBoot } from "./boot/minimal.ts";
import { qemuBoot } from "./boot/qemu.ts";
import { ubootBoot } from "./boot/u_boot.ts";
import { uefiBoot } from "./boot/uefi.ts";
import { uefiMenuBoot } from "./boot/uefi_menu.ts";
import { sshBoot } from "./boot/ssh.ts";
import { depthchargeBoot } from "./boot/depthcharge.ts";
import { fastbootBoot } from "./boot/fastboot.ts";
import { testDefinitions } from "./test/definitions.ts";
import { testReservation } from "./test/reservation.ts";
import { userCommandAction } from "./command.ts";
import { finalize } from "./finalize.ts";

export const STRATEGIES = new StrategyRegistry([
  tmpfsDeploy,
  tftpDeploy,
  nfsDeploy,
  nbdDeploy,
  overlayDeploy,
  downloadDeploy,
  sshDeploy,
  fastbootDeploy,
  qemuBoot,
  minimalBoot,
  ubootBoot,
  bootloaderBoot,
  ipxeBoot,
  grubBoot,
  uefiBoot,
  uefiMenuBoot,
  sshBoot,
  depthchargeBoot,
  fastbootBoot,
  testDefinitions,
  testReservation,
  userCommandAction,
  finalize,
]);
