import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { DEVICE_SCRIPTS } from "./scripts.ts";
import { systemHelpers } from "./system_helpers.ts";

/** The helpers installed in a temporary `bin`, run with busybox sh as on the test device. */
async function helpers(os?: string) {
  const dir = await Deno.makeTempDir({ prefix: "basalt-helpers-" });
  await Deno.mkdir(`${dir}/bin`);
  for (const [name, text] of Object.entries({ ...DEVICE_SCRIPTS, ...systemHelpers(os) })) {
    await Deno.writeTextFile(`${dir}/bin/${name}`, text);
    await Deno.chmod(`${dir}/bin/${name}`, 0o755);
  }
  const run = async (script: string, env: Record<string, string> = {}) => {
    const output = await new Deno.Command("busybox", {
      args: ["sh", "-c", script],
      env: { PATH: `${dir}/bin:/usr/bin:/bin`, LAVA_RESULT_DIR: `${dir}/results`, ...env },
      clearEnv: true,
    }).output();
    return { code: output.code, out: new TextDecoder().decode(output.stdout) };
  };
  return { dir, run, close: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("a background process runs until it is stopped, and is restarted when it ends", async () => {
  const h = await helpers();
  try {
    const started = await h.run(`lava-background-process-start ticker --cmd 'echo tick >> ${h.dir}/ticks; sleep 0.2'`);
    assertEquals(started.code, 0);
    await new Promise((r) => setTimeout(r, 1600));
    const ticks = (await Deno.readTextFile(`${h.dir}/ticks`)).split("\n").filter(Boolean).length;
    assert(ticks >= 2, `restarted: ${ticks} ticks`);
    assertEquals((await h.run("lava-background-process-stop ticker")).code, 0);
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await Deno.readTextFile(`${h.dir}/ticks`)).split("\n").filter(Boolean).length;
    await new Promise((r) => setTimeout(r, 1500));
    assertEquals((await Deno.readTextFile(`${h.dir}/ticks`)).split("\n").filter(Boolean).length, after);
    assertEquals((await h.run("lava-background-process-start")).code, 1);
    assertEquals((await h.run("lava-background-process-start ../x --cmd true")).code, 1);
  } finally {
    await h.close();
  }
});

Deno.test("the device's MAC and storage are what the lab says, storage filtered by method", async () => {
  const h = await helpers();
  try {
    const env = {
      LAVA_TARGET_MAC: "52:54:00:12:34:58",
      LAVA_STORAGE: "\tSATA\t/dev/disk/by-id/ata-1\n\tUMS\t/dev/sdb\n",
    };
    assertEquals((await h.run("lava-target-mac", env)).out, "52:54:00:12:34:58\n");
    assertEquals((await h.run("lava-target-storage", env)).out, env.LAVA_STORAGE);
    assertEquals((await h.run("lava-target-storage UMS", env)).out, "/dev/sdb\n");
    assertEquals((await h.run("lava-target-storage NVME", env)).code, 1);
  } finally {
    await h.close();
  }
});

Deno.test("lava-test-feedback signals the namespace it listens to, and needs one", async () => {
  const h = await helpers();
  try {
    assertEquals((await h.run("lava-test-feedback --namespace probe")).out, "<LAVA_SIGNAL_TESTFEEDBACK probe>\n");
    assertEquals((await h.run("lava-test-feedback")).code, 1);
  } finally {
    await h.close();
  }
});

Deno.test("distribution helpers follow the deploy's os: apt on debian, LAVA's unsupported message elsewhere", async () => {
  const debian = systemHelpers("debian");
  assertStringIncludes(debian["lava-install-packages"], "apt-get install -y -q");
  assertStringIncludes(debian["lava-add-sources"], "add-apt-repository");
  assertStringIncludes(systemHelpers("fedora")["lava-install-packages"], "dnf");
  assertStringIncludes(systemHelpers("debian")["lava-installed-packages"], "dpkg-query -W -f '${status} ${package}");
  const h = await helpers("busybox");
  try {
    const out = (await h.run("lava-install-packages curl jq")).out;
    assertStringIncludes(out, "I: unsupported distro, cannot install packages:");
    assertStringIncludes(out, "- curl\n- jq");
    assertStringIncludes((await h.run("lava-add-keys ABC")).out, "cannot add key");
    assertEquals(
      (await h.run("lava-installed-packages")).out,
      "Unsupported distro: cannot obtain list of installed packages\n",
    );
    assertEquals((await h.run("lava-os-build")).out.trim() !== "", true);
    assertEquals((await h.run("lava-echo-ipv4")).out, "Specify the interface to query\n");
  } finally {
    await h.close();
  }
});
