/**
 * LAVA's `nfs` deploy, for QEMU booted with `qemu-nfs`: the images downloaded,
 * the nfsrootfs unpacked (`qemu-nfs-deploy`, which also puts a `modules` archive
 * in — LAVA downloads one and leaves it unused), the overlay put into it and the
 * root exported (`apply-overlay-tftp`). The kernel and initrd are QEMU's, by
 * their `image_arg`.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import type { Strategy } from "../strategy.ts";
import type { Block } from "../context.ts";
import { deployWithParallelDownloads, DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";
import { DEVICE_ENV_SHAPE, OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../../drivers/download.ts";
import { unpackTar } from "../../drivers/archive.ts";
import { addModulesToNfsRoot, applyOverlayToNfsRoot, exportPreparedNfsRoot, extractNfsRoot } from "./nfs_root.ts";
import { join } from "../../../actors/path.ts";

/** The job's nfsrootfs: among its images, as LAVA's jobs give it, or beside them. */
const nfsrootfsOf = (block: Block): unknown =>
  isMapping(block.images) && isMapping(block.images.nfsrootfs) ? block.images.nfsrootfs : block.nfsrootfs;

export const nfsDeploy: Strategy = {
  section: "deploy",
  methods: ["nfs"],
  shape: (block, { definitions }) =>
    shape("deploy-qemu-nfs", "deploy qemu with NFS", "deploy NFS for QEMU", {
      pipeline: [
        ...downloadShapes(block, ["nfsrootfs", "modules"]),
        shape("qemu-nfs-deploy", "deploy nfsrootfs for QEMU", "NFS deployment for QEMU"),
        overlayShape(definitions),
        shape(
          "apply-overlay-tftp",
          "unpack the overlay into the nfsrootfs or ramdisk",
          "apply lava overlay test files",
        ),
        DEVICE_ENV_SHAPE,
      ],
    }),
  actions: () => ({
    "deploy-qemu-nfs": deployWithParallelDownloads,
    ...DOWNLOAD_ACTIONS,
    ...OVERLAY_ACTIONS,
    "qemu-nfs-deploy": async ({ ctx, block }) => {
      const spec = nfsrootfsOf(block);
      await extractNfsRoot(ctx, spec, "deploy-qemu-nfs");
      const modules = ctx.downloads.get("modules");
      if (!modules || ctx.nfsRoot === undefined) return;
      const tree = join(ctx.workDir, "modules");
      await unpackTar(modules, tree, ctx.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES, "deploy-qemu-nfs modules");
      await addModulesToNfsRoot(ctx, isMapping(spec) ? spec : {}, tree, "deploy-qemu-nfs");
      await Deno.remove(tree, { recursive: true });
    },
    "apply-overlay-tftp": async ({ ctx, block }) => {
      const spec = nfsrootfsOf(block);
      if (!(await applyOverlayToNfsRoot(ctx, isMapping(spec) ? spec : {}))) {
        ctx.log.info("The overlay is not on the device: the job has no NFS root to put it in");
      }
      // The last step to write into the NFS root: the device may now see it. QEMU's guest reaches the server from
      // this machine itself (its user network), so the device's own address does not bound the export.
      await exportPreparedNfsRoot(ctx, []);
    },
  }),
};
