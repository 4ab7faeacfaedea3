import { assertEquals } from "../../../tests/support/assert.ts";
import type { JobContext } from "../context.ts";
import { testContext } from "../../../tests/support/deploy_run.ts";
import { bootloaderSubstitutions, serverIp } from "./substitutions.ts";

function context(dispatcher: Record<string, unknown>): JobContext {
  const device = {
    actions: { deploy: { methods: { tftp: {} } }, boot: { methods: { "u-boot": { parameters: {} } } } },
    parameters: { booti: { kernel: "0x40400000", ramdisk: "0x44000000", dtb: "0x43400000" } },
    timeouts: { actions: {}, connections: {} },
    constants: {},
  };
  return testContext({
    jobId: "12",
    job: { actions: [{ deploy: { to: "tftp", kernel: { url: "file:///k", type: "image" } } }] },
    device,
    dispatcher,
    dir: "/tmp",
  });
}

Deno.test("an NFS root's placeholders are filled with its directory and the worker's address, as LAVA's bootloaders read it", () => {
  const ctx = context({ tftp_root: "/srv/tftp", dispatcher_ip: "10.0.0.1", dispatcher_nfs_ip: "10.0.9.9" });
  ctx.downloads.set("kernel", "/srv/tftp/12/tftp-deploy-x/kernel/Image");
  ctx.nfsRoot = "/var/lib/basalt/12/nfsrootfs";
  const values = bootloaderSubstitutions(ctx, "u-boot");
  assertEquals(values.SERVER_IP, "10.0.0.1");
  assertEquals(values.KERNEL, "12/tftp-deploy-x/kernel/Image");
  assertEquals(values.NFSROOTFS, "/var/lib/basalt/12/nfsrootfs");
  // LAVA's bootloader commands take dispatcher_ip for both; only qemu-nfs reads dispatcher_nfs_ip.
  assertEquals(values.NFS_SERVER_IP, "10.0.0.1");
  assertEquals(serverIp(ctx, "nfs"), "10.0.9.9");
  assertEquals(values.BOOTX, "booti 0x40400000 - 0x43400000");

  const plain = context({ tftp_root: "/srv/tftp", dispatcher_ip: "10.0.0.1", dispatcher_tftp_ip: "10.0.5.5" });
  plain.nfsRoot = "/r";
  assertEquals(bootloaderSubstitutions(plain, "u-boot").SERVER_IP, "10.0.0.1");
  assertEquals(bootloaderSubstitutions(plain, "u-boot").NFS_SERVER_IP, "10.0.0.1");
  assertEquals(bootloaderSubstitutions(context({}), "u-boot").NFSROOTFS, undefined);
});
