/**
 * LAVA's `ssh` deploy, for a machine that is already running and reached over
 * SSH: the test overlay is built and packed as a tarball (`scp-overlay`) that the
 * ssh boot copies to the machine with scp and unpacks there. Nothing is written
 * to the machine here; a root filesystem or modules to unpack first, which LAVA
 * would extract for the copy, are not supported yet and refused.
 */
import { join } from "../../../actors/path.ts";
import { shape } from "../../../actors/definitions/pipeline.ts";
import { JobError } from "../../job/errors.ts";
import { overlayTarball } from "../../overlay/tarball.ts";
import { sshResource } from "../../resources/ssh.ts";
import type { Strategy } from "../strategy.ts";
import { deployWithParallelDownloads } from "./downloads.ts";
import { DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";

export const sshDeploy: Strategy = {
  section: "deploy",
  methods: ["ssh"],
  shape: (_block, { definitions }) =>
    shape("scp-overlay", "prepare overlay and scp to device", "copy overlay to device", {
      pipeline: [
        overlayShape(definitions),
        shape(
          "prepare-scp-overlay",
          "copy the overlay over an existing ssh connection",
          "scp the overlay to the remote device",
          {
            pipeline: [
              shape("extract-rootfs", "unpack rootfs", "unpack rootfs, ready to apply lava overlay"),
              shape("extract-modules", "extract supplied kernel modules", "extract kernel modules"),
            ],
          },
        ),
        DEVICE_ENV_SHAPE,
      ],
    }),
  actions: () => ({
    ...OVERLAY_ACTIONS,
    "scp-overlay": async (run) => {
      // The device must be reachable over SSH at all: said at the deploy, before anything is prepared.
      sshResource(run.ctx.device);
      await deployWithParallelDownloads(run);
    },
    "prepare-scp-overlay": async (run) => {
      await run.children();
      const { ctx } = run;
      if (!ctx.overlay) throw new JobError("prepare-scp-overlay: no overlay was built");
      // On the device it goes beside the results directory: <lava_test_results_dir>-overlay.tar.gz.
      const archive = join(await Deno.makeTempDir({ dir: ctx.workDir, prefix: "scp-" }), "overlay.tar.gz");
      await overlayTarball(ctx.overlay.root, archive);
      ctx.scpOverlay = archive;
      ctx.log.info(`The overlay for scp: ${archive}`);
    },
    "extract-rootfs": ({ block }) => {
      if (block.rootfs !== undefined) {
        throw new JobError("ssh deploy: a rootfs to unpack on the device is not supported yet");
      }
      return Promise.resolve();
    },
    "extract-modules": ({ block }) => {
      if (block.modules !== undefined) {
        throw new JobError("ssh deploy: modules to unpack on the device are not supported yet");
      }
      return Promise.resolve();
    },
  }),
};
