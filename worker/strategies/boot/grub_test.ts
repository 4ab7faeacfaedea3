import { assertEquals } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows } from "../../../tests/support/pipelines.ts";

/** LAVA's sample grub job (its sample_jobs/grub-ramdisk.yaml), without the dtb an x86 PC has no use for. */
const GRUB_JOB = {
  device_type: "x86-grub",
  job_name: "grub-boot",
  timeouts: { job: { minutes: 300 }, action: { minutes: 300 } },
  actions: [
    {
      deploy: {
        timeout: { minutes: 10 },
        to: "tftp",
        ramdisk: { url: "http://example.com/arm64/rootfs.cpio.gz", compression: "gz" },
        kernel: { url: "http://example.com/d02/Image" },
        os: "oe",
      },
    },
    { boot: { method: "grub", commands: "ramdisk", timeout: { minutes: 50 }, prompts: ["/ #"] } },
    {
      test: {
        failure_retry: 3,
        timeout: { minutes: 5 },
        definitions: [
          { repository: "http://example.com/tests.git", from: "git", path: "smoke.yaml", name: "smoke-tests" },
        ],
      },
    },
  ],
};

Deno.test("a grub job's boot is LAVA's grub-main-action (its pipeline_refs/grub.yaml), timeouts and all", () => {
  const all = rows(pipelineOf(GRUB_JOB, pcDevice("x86-grub", "pc-grub-01", "09", 8004)).actions);
  assertEquals(all.filter(([, level]) => level === "2" || level.startsWith("2.")), [
    ["grub-main-action", "2", 1, 3000],
    ["bootloader-from-media", "2.1", 1, 3000],
    ["bootloader-overlay", "2.2", 1, 3000],
    ["connect-device", "2.3", 1, 3000],
    ["reset-device", "2.4", 1, 3000],
    ["pdu-reboot", "2.4.1", 1, 3000],
    ["bootloader-interrupt", "2.5", 1, 3000],
    ["bootloader-commands", "2.6", 1, 3000],
    ["auto-login-action", "2.7", 1, 3000],
    ["login-action", "2.7.1", 1, 3000],
    ["expect-shell-connection", "2.8", 1, 3000],
    ["export-device-env", "2.9", 1, 3000],
  ]);
});

Deno.test("the x86-grub template stops GRUB's menu with c and types LAVA's ramdisk commands", () => {
  const device = pcDevice("x86-grub", "pc-grub-01", "09", 8004);
  const grub = ((device.actions as Record<string, Record<string, Record<string, unknown>>>).boot.methods
    .grub) as Record<string, Record<string, unknown>>;
  assertEquals(grub.parameters.bootloader_prompt, "grub>");
  const constants = (device.constants as Record<string, Record<string, unknown>>).grub;
  assertEquals([constants["interrupt-prompt"], constants["interrupt-character"]], ["for a command-line", "c"]);
  assertEquals(
    new RegExp(String((constants["error-messages"] as string[])[0])).exec("\rerror: file `/x' not found.\r\n")?.[0],
    "error: file `/x' not found.",
  );
  assertEquals(grub.ramdisk.commands, [
    "net_bootp",
    "insmod linux",
    "insmod tftp",
    "linux (tftp,{SERVER_IP})/{KERNEL} console=ttyS0,115200 ip=dhcp",
    "initrd (tftp,{SERVER_IP})/{RAMDISK}",
    "boot",
  ]);
});

Deno.test("the x86-grub template's nfs and nbd commands tell the kernel where the job's root is, as LAVA's", () => {
  const device = pcDevice("x86-grub", "pc-grub-01", "09", 8004);
  const grub = ((device.actions as Record<string, Record<string, Record<string, unknown>>>).boot.methods
    .grub) as Record<string, Record<string, string[]>>;
  const linux = "linux (tftp,{SERVER_IP})/{KERNEL} console=ttyS0,115200 ip=dhcp";
  const fetch = (root: string) => [
    "net_bootp",
    "insmod linux",
    "insmod tftp",
    `${linux} ${root}`,
    "initrd (tftp,{SERVER_IP})/{RAMDISK}",
    "boot",
  ];
  assertEquals(grub.nfs.commands, fetch("root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard"));
  assertEquals(
    grub.nbd.commands,
    fetch("nbd.server={NBDSERVERIP} nbd.port={NBDSERVERPORT} root=/dev/ram0 ramdisk_size=16384 rootdelay=7 rw"),
  );
  assertEquals(Object.keys((device.actions as Record<string, Record<string, object>>).deploy.methods), [
    "tftp",
    "nbd",
  ]);
});
