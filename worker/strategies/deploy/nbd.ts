/**
 * LAVA's `nbd` deploy: the kernel, initrd and device tree downloaded into the
 * job's TFTP directory for the bootloader, the `nbdroot` image beside them served
 * by an NBD server of the job's own (`xnbd-server-deploy`, on the port the job's
 * `lava-xnbd` protocol names or a free one), `{NBDSERVERIP}` and
 * `{NBDSERVERPORT}` for the boot commands. As in LAVA the root image is served as
 * it came: the test overlay reaches the device after login (`transfer_overlay`).
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { freePort, listenAddress } from "../../drivers/free_port.ts";
import { startNbdServer } from "../../drivers/nbd_server.ts";
import { JobError } from "../../job/errors.ts";
import type { Strategy } from "../strategy.ts";
import type { Block } from "../context.ts";
import { serverIp } from "../boot/substitutions.ts";
import { DOWNLOAD_ACTIONS, downloadShapes } from "./downloads.ts";
import { OVERLAY_ACTIONS, overlayShape } from "./test_overlay.ts";
import { downloadIntoTftpDir, prepareKernelShape, ubootPrepareKernel } from "./tftp.ts";
import { deviceAddresses } from "./nfs_root.ts";

/** The files LAVA's nbd deploy downloads, in its order. */
const NBD_FILES = ["initrd", "kernel", "dtb", "nbdroot"];

/**
 * The NBD server's port: the job's `protocols: lava-xnbd: port:` (a number, or `auto` for a free one), as LAVA;
 * `chosen` when the job named it (then a port that cannot be had is the job's to change).
 */
function nbdPort(job: Block, hostname: string): { port: number; chosen: boolean } {
  const protocols = isMapping(job.protocols) ? job.protocols : {};
  const xnbd = isMapping(protocols["lava-xnbd"]) ? protocols["lava-xnbd"] : undefined;
  const port = xnbd?.port;
  if (port === undefined) {
    throw new JobError("xnbd-server-deploy: NBD server port is unset (the job needs protocols: lava-xnbd: port: auto)");
  }
  if (port === "auto") return { port: freePort(hostname), chosen: false };
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new JobError(`protocols lava-xnbd.port: ${JSON.stringify(port)} is not a port or auto`);
  }
  return { port, chosen: true };
}

export const nbdDeploy: Strategy = {
  section: "deploy",
  methods: ["nbd"],
  shape: (block, { definitions }, device) =>
    shape("nbd-deploy", "download files and deploy for using tftp+initrd+nbd", "nbd deployment", {
      pipeline: [
        ...downloadShapes(block, NBD_FILES),
        overlayShape(definitions),
        ...prepareKernelShape(block, device),
        shape("xnbd-server-deploy", "nbd daemon", "nbd daemon"),
      ],
    }),
  actions: () => ({
    ...DOWNLOAD_ACTIONS,
    ...OVERLAY_ACTIONS,
    "nbd-deploy": async (run) => {
      const { block } = run;
      for (const key of ["kernel", "initrd", "nbdroot"]) {
        if (!isMapping(block[key])) {
          throw new JobError(`nbd-deploy needs ${key === "kernel" ? "a kernel" : `an ${key}`}`);
        }
      }
      // As LAVA: the root is the NBD image, and the initrd is what connects to it.
      if (block.nfsrootfs !== undefined) throw new JobError("nbd-deploy: nfsrootfs cannot be used with an NBD root");
      if (block.ramdisk !== undefined) throw new JobError("nbd-deploy: ramdisk cannot be used with NBD, use initrd");
      await downloadIntoTftpDir(run, "nbd", ["initrd", "kernel", "dtb"]);
    },
    "uboot-prepare-kernel": ubootPrepareKernel,
    "xnbd-server-deploy": async ({ ctx }) => {
      const image = ctx.downloads.get("nbdroot");
      if (!image) throw new JobError("xnbd-server-deploy: no nbdroot was downloaded");
      const ip = serverIp(ctx);
      const hostname = listenAddress(ip);
      const { port, chosen } = nbdPort(ctx.job, hostname);
      const clients = deviceAddresses(ctx.device);
      ctx.log.debug(`NBD-IP: ${ip}, NBD-PORT: ${port}, NBD-ROOT: ${image}`);
      // Its configuration and pid file in the job's own directory, out of the TFTP root (and found by the worker's
      // sweep of a killed dispatcher's processes, which looks for the job's directory on command lines).
      const dir = await Deno.makeTempDir({ dir: ctx.workDir, prefix: "nbd-server-" });
      const server = await startNbdServer({ image, dir, hostname, port, clients }).catch((error) => {
        throw chosen ? new JobError(`protocols lava-xnbd.port ${port}: ${(error as Error).message}`) : error;
      });
      ctx.cleanups.push(() => server.stop());
      ctx.nbdServer = { ip, port };
      ctx.log.info(
        `nbd-server (pid ${server.pid}) serves ${image} on ${hostname}:${port}` +
          (clients.length > 0 ? ` to ${clients.join(", ")}` : ""),
      );
    },
  }),
};
