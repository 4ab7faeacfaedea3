/**
 * A real Debian system through the whole lab: the root filesystem
 * tools/build-debian-rootfs.sh builds with debootstrap, booted by QEMU from a disk
 * image with its own kernel and initrd, over NFS (LAVA's `nfs` deploy and `qemu-nfs`
 * boot, served by a real nfs-ganesha), and as an NBD root (LAVA's `nbd` deploy, the
 * job's own nbd-server, a PC netbooting GRUB), logged into on its serial console,
 * and Linaro's `smoke` test definition run on it unchanged from a git repository, as
 * a LAVA user runs it.
 */
import { stringify } from "yaml";
import { assertEquals } from "./support/assert.ts";
import { startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import { startGanesha } from "./support/ganesha.ts";
import { dutFile } from "./support/dut.ts";
import { grubBoard, grubDictionary } from "./support/firmware.ts";
import { PATHS } from "../ops/setup.ts";

const DEBIAN = PATHS.debianDir;
const DEFINITIONS = PATHS.testDefinitions;
const present = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};
const missing = [
  ...(present(`${DEBIAN}/rootfs.ext4`) && present(`${DEBIAN}/rootfs.tar.gz`)
    ? []
    : [`the Debian root filesystem (${DEBIAN}: deno task setup test)`]),
  ...(present(`${DEFINITIONS}/automated/linux/smoke`) ? [] : [`Linaro's test definitions (${DEFINITIONS})`]),
];

/** Linaro's test definitions as a git repository, as LAVA users point their jobs at one. */
async function definitionsRepository(dir: string): Promise<string> {
  const repo = `${dir}/test-definitions`;
  // Executable bits kept, the shared copy's read-only modes not, and any repository of its own left behind.
  const copied = await new Deno.Command("sh", {
    args: ["-c", 'cp -R "$0" "$1" && chmod -R u+w "$1"', DEFINITIONS, repo],
  })
    .output();
  if (!copied.success) throw new Error(`cannot copy ${DEFINITIONS}`);
  await Deno.remove(`${repo}/.git`, { recursive: true }).catch(() => {});
  const git = async (...args: string[]) => {
    const done = await new Deno.Command("git", { args: ["-C", repo, ...args], stdout: "null", stderr: "piped" })
      .output();
    if (!done.success) throw new Error(`git ${args[0]}: ${new TextDecoder().decode(done.stderr)}`);
  };
  await git("init", "-q");
  await git("add", ".");
  await git("-c", "user.email=ci@basalt.invalid", "-c", "user.name=ci", "commit", "-qm", "test-definitions");
  return repo;
}

const file = (name: string) => `file://${DEBIAN}/${name}`;

/** Debian from a disk image, with its own kernel and initrd. */
const FROM_DISK = {
  to: "tmpfs",
  images: {
    kernel: { url: file("vmlinuz"), image_arg: '-kernel {kernel} -append "root=/dev/vda rw console=ttyS0"' },
    initrd: { url: file("initrd.img"), image_arg: "-initrd {initrd}" },
    rootfs: { url: file("rootfs.ext4"), image_arg: "-drive format=raw,file={rootfs},if=virtio" },
  },
};

/**
 * Debian as an NFS root: the device image's kernel and initramfs (which mounts NFSv4 roots; Debian's own initrd
 * mounts only NFSv2/3, which needs rpcbind and mountd beside the server).
 */
const OVER_NFS = {
  to: "nfs",
  images: {
    kernel: { url: `file://${dutFile("vmlinuz")}`, image_arg: "-kernel {kernel}" },
    initrd: { url: `file://${dutFile("initramfs-nfs")}`, image_arg: "-initrd {initrd}" },
    nfsrootfs: { url: file("rootfs.tar.gz"), compression: "gz" },
  },
};

/**
 * Debian as an NBD root: the device image's kernel and NBD-client initramfs over TFTP, the disk image served by the
 * job's nbd-server; the overlay is fetched after login with the rootfs's wget, as LAVA's NBD jobs must.
 */
const OVER_NBD = {
  to: "nbd",
  kernel: { url: `file://${dutFile("vmlinuz")}` },
  initrd: { url: `file://${dutFile("initramfs-nbd")}` },
  nbdroot: { url: file("rootfs.ext4") },
  os: "debian",
};

function debianJob(
  repository: string,
  deploy: Record<string, unknown>,
  boot: Record<string, unknown>,
  job: Record<string, unknown> = { device_type: "qemu" },
): Record<string, unknown> {
  return {
    job_name: `debian smoke (${deploy.to})`,
    visibility: "public",
    ...job,
    timeouts: { job: { minutes: 8 }, action: { minutes: 3 } },
    actions: [
      { deploy },
      {
        boot: {
          ...boot,
          timeout: { minutes: 4 },
          auto_login: { login_prompt: "login:", username: "root", password_prompt: "Password:", password: "root" },
          prompts: ["root@debian:~#"],
        },
      },
      {
        test: {
          timeout: { minutes: 3 },
          definitions: [{
            from: "git",
            repository,
            path: "automated/linux/smoke/smoke.yaml",
            name: "smoke-tests",
            parameters: { SKIP_INSTALL: "True" },
          }],
        },
      },
    ],
  };
}

/** Runs the smoke job on the lab's Debian device, checks what a LAVA user gets, and gives the job's log lines. */
async function smokeOn(lab: TestLab, job: Record<string, unknown>): Promise<string[]> {
  const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
  assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
  const [id] = submitted.body.job_ids;
  const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 540_000);
  const results = await lab.api<{ results: { suite: string; name: string; result: string }[] }>(
    "GET",
    `/api/v1/jobs/${id}/results`,
  );
  const byName = Object.fromEntries(results.body.results.map((r) => [`${r.suite}/${r.name}`, r.result]));
  assertEquals(finished.health, "Complete", `${job.job_name}: ${JSON.stringify(byName)}`);
  // What smoke.sh reports on Debian, one case per command, as LAVA records them.
  const smoke = Object.fromEntries(Object.entries(byName).filter(([name]) => name.startsWith("0_smoke-tests/")));
  assertEquals(smoke, {
    "0_smoke-tests/pwd": "pass",
    "0_smoke-tests/lsb_release": "pass",
    "0_smoke-tests/uname": "pass",
    "0_smoke-tests/ip": "pass",
    "0_smoke-tests/lscpu": "pass",
    "0_smoke-tests/vmstat": "pass",
    "0_smoke-tests/lsblk": "pass",
  }, String(job.job_name));
  for (const name of ["lava/kernel-messages", "lava/login-action", "lava/0_smoke-tests", "lava/job"]) {
    assertEquals(byName[name], "pass", `${job.job_name} ${name}: ${JSON.stringify(byName)}`);
  }
  const log = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
  return log.body.lines.map((line) => String(line.msg));
}

Deno.test({
  name:
    `Linaro's smoke tests, from git, run unchanged on a Debian root filesystem booted from a disk image, as an NFS root and as an NBD root${
      missing.length ? ` (ignored: no ${missing.join(", no ")})` : ""
    }`,
  ignore: missing.length > 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "basalt-debian-" });
    const ganesha = await startGanesha();
    const pc = await grubBoard();
    // QEMU's user network reaches the worker's NFS and NBD servers at 10.0.2.2, and serves the PC its TFTP root.
    const dispatcherConfig = stringify({
      dispatcher_ip: "10.0.2.2",
      tftp_root: pc.tftpRoot,
      ...ganesha.dispatcherConfig,
    });
    const lab = await startTestLab({ fileDirs: [DEBIAN, PATHS.dutDir, dir], dispatcherConfig });
    try {
      await lab.addWorker("w1");
      await lab.addDevice("qemu-debian", "qemu", "w1", "{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n");
      await lab.addDevice("pc-debian", "x86-grub", "w1", grubDictionary(pc.board));
      const repository = await definitionsRepository(dir);
      await smokeOn(lab, debianJob(repository, FROM_DISK, { method: "qemu", media: "tmpfs" }));
      await smokeOn(
        lab,
        debianJob(repository, OVER_NFS, { method: "qemu-nfs", media: "nfs" }, {
          device_type: "qemu",
          context: { extra_nfsroot_args: `,vers=4,port=${ganesha.port}` },
        }),
      );
      assertEquals(await Deno.readTextFile(ganesha.exportsFile), "", "the NFS job's export is gone");
      const nbdLog = await smokeOn(
        lab,
        debianJob(repository, OVER_NBD, {
          method: "grub",
          commands: "nbd",
          transfer_overlay: { download_command: "wget -q", unpack_command: "tar -C / -xzf" },
        }, { device_type: "x86-grub", protocols: { "lava-xnbd": { port: "auto" } } }),
      );
      // The initrd connected to the job's server and systemd came up on it; the test shell came over HTTP.
      for (const expected of [/^nbdroot: connecting \/dev\/nbd0 to 10\.0\.2\.2 port \d+/, /systemd\[1\]: /]) {
        assertEquals(nbdLog.some((line) => expected.test(line)), true, `${expected} in the NBD job's log`);
      }
      const servers = await new Deno.Command("pgrep", { args: ["-f", "nbd-server.*rootfs.ext4"], stdout: "piped" })
        .output();
      assertEquals(new TextDecoder().decode(servers.stdout), "", "the NBD job's server stopped with it");
    } finally {
      await lab.close();
      await pc.board.stop();
      await ganesha.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
