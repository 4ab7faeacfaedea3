import { assertEquals } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows } from "../../../tests/support/pipelines.ts";

/** LAVA's sample ipxe job (its sample_jobs/ipxe.yaml): a ramdisk, a kernel and modules, two test definitions. */
const IPXE_JOB = {
  device_type: "x86",
  job_name: "x86-pipeline",
  timeouts: { job: { minutes: 15 }, action: { minutes: 5 } },
  actions: [
    {
      deploy: {
        timeout: { minutes: 2 },
        to: "tftp",
        kernel: { url: "http://example.com/x86-32/bzImage" },
        ramdisk: { url: "http://example.com/x86-32/rootfs.cpio.gz", compression: "gz" },
        modules: { url: "http://example.com/x86-32/modules.tar.xz", compression: "xz" },
        os: "oe",
      },
    },
    { boot: { method: "ipxe", commands: "ramdisk", prompts: ["linaro-test", "/ #"] } },
    {
      test: {
        failure_retry: 3,
        timeout: { minutes: 5 },
        definitions: [
          { repository: "http://example.com/tests.git", from: "git", path: "smoke.yaml", name: "smoke-tests" },
          { repository: "http://example.com/tests.git", from: "git", path: "single.yaml", name: "singlenode" },
        ],
      },
    },
  ],
};

Deno.test("an ipxe job's deploy and boot are LAVA's tftp-deploy and bootloader-action (its pipeline_refs/ipxe.yaml)", () => {
  const all = rows(pipelineOf(IPXE_JOB, pcDevice("x86", "x86-01", "08", 8003)).actions);
  // lava-overlay's own children differ (Basalt has no ssh, vland or persistent NFS overlays): compared elsewhere.
  const outsideOverlay = all.filter(([, level]) => !level.startsWith("1.4.2.")).map((
    [name, level, retries],
  ) => [name, level, retries]);
  assertEquals(outsideOverlay, [
    ["tftp-deploy", "1", 1],
    ["download-retry", "1.1", 1],
    ["http-download", "1.1.1", 1],
    ["download-retry", "1.2", 1],
    ["http-download", "1.2.1", 1],
    ["download-retry", "1.3", 1],
    ["http-download", "1.3.1", 1],
    ["prepare-tftp-overlay", "1.4", 1],
    ["extract-nfsrootfs", "1.4.1", 1],
    ["lava-overlay", "1.4.2", 1],
    ["extract-overlay-ramdisk", "1.4.3", 1],
    ["extract-modules", "1.4.4", 1],
    ["apply-overlay-tftp", "1.4.5", 1],
    ["configure-preseed-file", "1.4.6", 1],
    ["compress-ramdisk", "1.4.7", 1],
    ["lxc-create-udev-rule-action", "1.5", 1],
    ["deploy-device-env", "1.6", 1],
    ["bootloader-action", "2", 1],
    ["bootloader-overlay", "2.1", 1],
    ["connect-device", "2.2", 1],
    ["bootloader-retry", "2.3", 1],
    ["reset-device", "2.3.1", 1],
    ["pdu-reboot", "2.3.1.1", 1],
    ["bootloader-interrupt", "2.3.2", 1],
    ["bootloader-commands", "2.3.3", 1],
    ["auto-login-action", "2.3.4", 1],
    ["login-action", "2.3.4.1", 1],
    ["expect-shell-connection", "2.3.5", 1],
    ["export-device-env", "2.3.6", 1],
    ["lava-test-retry", "3", 3],
    // LAVA lists the block's failure_retry on the inner action too, but only its retry wrapper retries.
    ["lava-test-shell", "3.1", 1],
    ["finalize", "4", 1],
    ["power-off", "4.1", 1],
    ["read-feedback", "4.2", 1],
  ]);
});

Deno.test("the x86 template's iPXE is interrupted with Ctrl-B and no character, its MAC checked", () => {
  const device = pcDevice("x86", "x86-01", "08", 8003);
  const ipxe = ((device.actions as Record<string, Record<string, Record<string, unknown>>>).boot.methods
    .ipxe) as Record<string, Record<string, unknown>>;
  assertEquals(ipxe.parameters.bootloader_prompt, "iPXE>");
  assertEquals((device.constants as Record<string, Record<string, unknown>>).ipxe.interrupt_ctrl_list, ["b"]);
  assertEquals(ipxe.ramdisk.commands, [
    "dhcp net0",
    "set console console=ttyS0,115200n8 lava_mac={LAVA_MAC}",
    "set extraargs  ip=dhcp",
    "kernel tftp://{SERVER_IP}/{KERNEL} ${extraargs} ${console}",
    "initrd tftp://{SERVER_IP}/{RAMDISK}",
    "boot",
  ]);
});

Deno.test("the x86 template's nfs and nbd commands tell the kernel where the job's root is, as LAVA's", () => {
  const device = pcDevice("x86", "x86-01", "08", 8003);
  const ipxe = ((device.actions as Record<string, Record<string, Record<string, unknown>>>).boot.methods
    .ipxe) as Record<string, Record<string, string[]>>;
  assertEquals(
    ipxe.nfs.commands[2],
    "set extraargs root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard  ip=dhcp",
  );
  assertEquals(
    ipxe.nbd.commands[2],
    "set extraargs nbd.server={NBDSERVERIP} nbd.port={NBDSERVERPORT} root=/dev/ram0 ramdisk_size=16384 rootdelay=7 rw  ip=dhcp",
  );
  assertEquals(ipxe.nbd.commands.filter((_, i) => i !== 2), ipxe.ramdisk.commands.filter((_, i) => i !== 2));
});
