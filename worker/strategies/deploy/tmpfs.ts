/**
 * LAVA's `tmpfs` deploy for virtual devices: download the images, build the test
 * overlay and put it where the guest finds it (inside its initramfs, or on a drive).
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";
import { applyOverlay, DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";

export const tmpfsDeploy: Strategy = {
  section: "deploy",
  methods: ["tmpfs"],
  shape: (block, { definitions }) =>
    shape("deployimages", "deploy images", "deploy images", {
      pipeline: [
        overlayShape(definitions),
        DEVICE_ENV_SHAPE,
        ...downloadShapes(block),
        shape(
          "apply-overlay-guest",
          "prepare a qcow2 drive containing the overlay",
          "build a guest filesystem with the overlay",
        ),
      ],
    }),
  actions: () => ({
    deployimages: deployWithParallelDownloads,
    ...DOWNLOAD_ACTIONS,
    ...OVERLAY_ACTIONS,
    "apply-overlay-guest": applyOverlay,
  }),
};
