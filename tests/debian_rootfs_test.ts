/**
 * A real Debian system through the whole lab: the root filesystem
 * tools/build-debian-rootfs.sh builds with debootstrap, booted by QEMU from a disk
 * image with its own kernel and initrd, logged into on its serial console, and
 * Linaro's `smoke` test definition run on it unchanged from a git repository, as a
 * LAVA user runs it.
 */
import { stringify } from "yaml";
import { assertEquals } from "./support/assert.ts";
import { startTestLab, waitForJob } from "./support/lab.ts";
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
  ...(present(`${DEBIAN}/rootfs.ext4`) ? [] : [`the Debian root filesystem (${DEBIAN}: deno task setup test)`]),
  ...(present(`${DEFINITIONS}/automated/linux/smoke`) ? [] : [`Linaro's test definitions (${DEFINITIONS})`]),
];

/** Linaro's test definitions as a git repository, as LAVA users point their jobs at one. */
async function definitionsRepository(dir: string): Promise<string> {
  const repo = `${dir}/test-definitions`;
  const copied = await new Deno.Command("cp", { args: ["-a", DEFINITIONS, repo] }).output();
  if (!copied.success) throw new Error(`cannot copy ${DEFINITIONS}`);
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

function debianJob(repository: string): Record<string, unknown> {
  const file = (name: string) => `file://${DEBIAN}/${name}`;
  return {
    device_type: "qemu",
    job_name: "debian smoke",
    visibility: "public",
    timeouts: { job: { minutes: 8 }, action: { minutes: 3 } },
    actions: [
      {
        deploy: {
          to: "tmpfs",
          images: {
            kernel: { url: file("vmlinuz"), image_arg: '-kernel {kernel} -append "root=/dev/vda rw console=ttyS0"' },
            initrd: { url: file("initrd.img"), image_arg: "-initrd {initrd}" },
            rootfs: { url: file("rootfs.ext4"), image_arg: "-drive format=raw,file={rootfs},if=virtio" },
          },
        },
      },
      {
        boot: {
          method: "qemu",
          media: "tmpfs",
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

Deno.test({
  name: `Linaro's smoke tests, from git, run unchanged on a Debian root filesystem booted from a disk image${
    missing.length ? ` (ignored: no ${missing.join(", no ")})` : ""
  }`,
  ignore: missing.length > 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "basalt-debian-" });
    const lab = await startTestLab({ fileDirs: [DEBIAN, dir] });
    try {
      await lab.addWorker("w1");
      await lab.addDevice("qemu-debian", "qemu", "w1", "{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n");
      const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
        definition: stringify(debianJob(await definitionsRepository(dir))),
      });
      assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
      const [id] = submitted.body.job_ids;
      const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 480_000);
      const results = await lab.api<{ results: { suite: string; name: string; result: string }[] }>(
        "GET",
        `/api/v1/jobs/${id}/results`,
      );
      const byName = Object.fromEntries(results.body.results.map((r) => [`${r.suite}/${r.name}`, r.result]));
      assertEquals(finished.health, "Complete", JSON.stringify(byName));
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
      });
      for (const name of ["lava/kernel-messages", "lava/login-action", "lava/0_smoke-tests", "lava/job"]) {
        assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
      }
    } finally {
      await lab.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
