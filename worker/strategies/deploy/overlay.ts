/** LAVA's `overlay` deploy: only the test overlay, for a device whose images are already in place. */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { deployWithParallelDownloads } from "./downloads.ts";
import { DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";

export const overlayDeploy: Strategy = {
  section: "deploy",
  methods: ["overlay"],
  shape: (_block, { definitions }) =>
    shape("overlay-deploy", "add the lava overlay without deploying images", "overlay only", {
      pipeline: [overlayShape(definitions), DEVICE_ENV_SHAPE],
    }),
  actions: () => ({ "overlay-deploy": deployWithParallelDownloads, ...OVERLAY_ACTIONS }),
};
