/** LAVA's `download` (or `downloads`) deploy: the files fetched to the worker, nothing put on the device. */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";

export const downloadDeploy: Strategy = {
  section: "deploy",
  methods: ["download", "downloads"],
  shape: (block) =>
    shape("download-deploy", "download files", "download deployment", { pipeline: downloadShapes(block) }),
  actions: () => ({ "download-deploy": deployWithParallelDownloads, ...DOWNLOAD_ACTIONS }),
};
