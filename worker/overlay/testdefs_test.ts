import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { stringify } from "yaml";
import { JobLog } from "../job/log.ts";
import { JobError } from "../job/errors.ts";
import { prepareTest, testDefinitionRef } from "./testdefs.ts";
import { freePort } from "../drivers/free_port.ts";

async function git(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", {
    args: [
      "-C",
      dir,
      "-c",
      "user.email=ci@basalt.invalid",
      "-c",
      "user.name=ci",
      "-c",
      "protocol.file.allow=always",
      ...args,
    ],
  }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

async function repository(dir: string, files: Record<string, string>): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "add", ".");
  await git(dir, "commit", "-qm", "files");
  return dir;
}

const testdef = (install: Record<string, unknown>, params: Record<string, unknown> = {}) =>
  stringify({
    metadata: { format: "Lava-Test Test Definition 1.0", name: "t" },
    params,
    install,
    run: { steps: ["true"] },
  });

async function prepare(base: string, raw: Record<string, unknown>, os?: string) {
  return await prepareTest(testDefinitionRef({ name: "t", path: "t.yaml", ...raw }), {
    index: 0,
    dir: `${base}/out`,
    deviceDir: "/lava-1/0/tests/0_t",
    os,
    log: new JobLog(),
    fetch: { action: "git-repo-action", fileDirs: [base] },
  });
}

Deno.test("install.sh adds keys and sources, installs deps and the os's own, then runs steps from the test's directory", async () => {
  const base = await Deno.makeTempDir();
  try {
    const repo = await repository(`${base}/repo`, {
      "t.yaml": testdef({
        keys: ["0xABC"],
        sources: ["deb http://deb.invalid stable main"],
        deps: ["curl", "jq"],
        "deps-debian": ["iperf3"],
        steps: ["make -C tools"],
      }),
    });
    await prepare(base, { from: "git", repository: repo }, "debian");
    assertEquals((await Deno.readTextFile(`${base}/out/install.sh`)).split("\n"), [
      "#!/bin/sh",
      "set -e",
      "lava-add-keys '0xABC'",
      "lava-add-sources 'deb http://deb.invalid stable main'",
      "lava-install-packages 'curl' 'jq' 'iperf3'",
      "cd '/lava-1/0/tests/0_t'",
      "pwd",
      "make -C tools",
      "",
    ]);
    await Deno.remove(`${base}/out`, { recursive: true });
    await prepare(base, { from: "git", repository: repo, skip_install: ["keys", "deps"] }, "fedora");
    const skipped = await Deno.readTextFile(`${base}/out/install.sh`);
    assert(!skipped.includes("lava-add-keys") && !skipped.includes("lava-install-packages"), skipped);
    assertStringIncludes(skipped, "lava-add-sources");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("install git-repos are cloned into the test's directory, by URL or with a branch and a destination from params", async () => {
  const base = await Deno.makeTempDir();
  try {
    const tool = await repository(`${base}/tool.git`, { "README": "main\n" });
    await git(tool, "checkout", "-q", "-b", "stable");
    await Deno.writeTextFile(`${tool}/README`, "stable\n");
    await git(tool, "commit", "-qam", "stable");
    await git(tool, "checkout", "-q", "main");
    const repo = await repository(`${base}/repo`, {
      "t.yaml": testdef(
        { "git-repos": [tool, { url: tool, branch: "TOOL_BRANCH", destination: "pinned" }] },
        { TOOL_BRANCH: "stable" },
      ),
    });
    await prepare(base, { from: "git", repository: repo });
    assertEquals(await Deno.readTextFile(`${base}/out/tool/README`), "main\n");
    assertEquals(await Deno.readTextFile(`${base}/out/pinned/README`), "stable\n");
    await Deno.remove(`${base}/out`, { recursive: true });
    const escaping = await repository(`${base}/escaping`, {
      "t.yaml": testdef({ "git-repos": [{ url: tool, destination: "../../outside" }] }),
    });
    await assertRejects(() => prepare(base, { from: "git", repository: escaping }), JobError, "destination");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a from: url tar archive of tests is unpacked, compressed and with leading directories stripped", async () => {
  const base = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${base}/src/suite-1.0/tests`, { recursive: true });
    await Deno.writeTextFile(`${base}/src/suite-1.0/tests/t.yaml`, testdef({}));
    await Deno.writeTextFile(`${base}/src/suite-1.0/tests/helper.sh`, "echo helper\n");
    const made = await new Deno.Command("tar", {
      args: ["-czf", `${base}/suite.tar.gz`, "-C", `${base}/src`, "suite-1.0"],
    })
      .output();
    assert(made.success);
    const prepared = await prepare(base, {
      from: "url",
      repository: `file://${base}/suite.tar.gz`,
      path: "tests/t.yaml",
      compression: "gz",
      "strip-components": 1,
    });
    assertEquals(prepared.name, "t");
    assertEquals(await Deno.readTextFile(`${base}/out/tests/helper.sh`), "echo helper\n");
    // A plain definition file is still taken as it is.
    await Deno.writeTextFile(`${base}/plain.yaml`, testdef({}));
    await Deno.remove(`${base}/out`, { recursive: true });
    await prepare(base, { from: "url", repository: `file://${base}/plain.yaml`, path: "t.yaml" });
    assertEquals(await Deno.readTextFile(`${base}/out/t.yaml`), testdef({}));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("recursive clones fetch submodules, but never from the worker's own files", async () => {
  const base = await Deno.makeTempDir();
  try {
    const sub = await repository(`${base}/sub`, { "lib.sh": "echo lib\n" });
    const repo = await repository(`${base}/repo`, { "t.yaml": testdef({}) });
    await git(repo, "submodule", "add", "-q", sub, "lib");
    await git(repo, "commit", "-qm", "submodule");
    // Without recursive, the submodule is not fetched; with it, a local submodule URL is refused.
    await prepare(base, { from: "git", repository: repo });
    assertEquals(await Deno.stat(`${base}/out/lib/lib.sh`).then(() => true, () => false), false);
    await Deno.remove(`${base}/out`, { recursive: true });
    await assertRejects(() => prepare(base, { from: "git", repository: repo, recursive: true }));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a recursive clone fetches submodules served over git://", async () => {
  const base = await Deno.makeTempDir();
  const port = freePort();
  const daemon = new Deno.Command("git", {
    args: [
      "daemon",
      "--reuseaddr",
      "--export-all",
      `--base-path=${base}`,
      "--listen=127.0.0.1",
      `--port=${port}`,
      base,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await repository(`${base}/sub`, { "lib.sh": "echo lib\n" });
    const repo = await repository(`${base}/repo`, { "t.yaml": testdef({}) });
    // The daemon takes a moment to listen.
    for (let i = 0; i < 50; i++) {
      const probe = await new Deno.Command("git", { args: ["ls-remote", `git://127.0.0.1:${port}/sub`] }).output();
      if (probe.success) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await git(repo, "submodule", "add", "-q", `git://127.0.0.1:${port}/sub`, "lib");
    await git(repo, "commit", "-qm", "submodule");
    await prepare(base, { from: "git", repository: repo, recursive: true });
    assertEquals(await Deno.readTextFile(`${base}/out/lib/lib.sh`), "echo lib\n");
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await Deno.remove(base, { recursive: true });
  }
});
