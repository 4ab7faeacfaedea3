/**
 * LAVA's `tftp` deploy: the kernel, ramdisk, device tree and modules downloaded for
 * the bootloader to fetch, the test overlay unpacked into the ramdisk.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";
import { applyOverlay, DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";

/** The images a network boot may fetch, in LAVA's order. */
const BOOT_FILES = ["kernel", "ramdisk", "initrd", "dtb", "modules", "nfsrootfs", "nbdroot", "tee"];

/** A deploy of boot files for a bootloader to fetch over the network: `tftp` here, `nbd` in nbd.ts. */
export function networkDeploy(to: string): Strategy {
  return {
    section: "deploy",
    methods: [to],
    shape: (block, { definitions }) =>
      shape(`${to}-deploy`, `download files and deploy using ${to}`, `${to} deployment`, {
        pipeline: [
          ...downloadShapes(block, BOOT_FILES),
          shape(
            `prepare-${to}-overlay`,
            "extract ramdisk or nfsrootfs in preparation for lava overlay",
            "extract overlay",
            {
              pipeline: [
                overlayShape(definitions),
                shape("apply-overlay-tftp", "unpack the overlay into the ramdisk", "apply overlay"),
              ],
            },
          ),
          DEVICE_ENV_SHAPE,
        ],
      }),
    actions: () => ({
      [`${to}-deploy`]: deployWithParallelDownloads,
      ...DOWNLOAD_ACTIONS,
      ...OVERLAY_ACTIONS,
      "apply-overlay-tftp": applyOverlay,
    }),
  };
}

export const tftpDeploy: Strategy = networkDeploy("tftp");
