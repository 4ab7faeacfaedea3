/**
 * Hostile jobs against the real dispatcher (`deno task dispatch`, a separate
 * process as a worker runs it): file names, image keys, test definition paths,
 * `file://` URLs, git repositories, `lava_test_results_dir`, QEMU arguments and
 * decompression bombs that try to read or write outside the job's directory.
 * Each must end the job Incomplete with an error naming what was refused, and
 * leave everything outside the job's directory as it was.
 *
 * None of these needs a booted device: every refusal happens before QEMU runs
 * (the images are not bootable, so a job that got through would fail at boot).
 */
import { join } from "../../actors/path.ts";
import { parse as parseYaml, stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { type DispatchRun, runDispatcher } from "../support/dispatch.ts";
import { DUT_DIR, inlineTest, qemuDeviceYaml, qemuJob as dutJob } from "../support/dut.ts";

interface Sandbox {
  readonly base: string;
  readonly http: string;
  readonly allowed: string;
  readonly secret: string;
  close(): Promise<void>;
}

const TESTDEF = stringify({
  metadata: { format: "Lava-Test Test Definition 1.0", name: "t" },
  run: { steps: ["true"] },
});

async function gzipped(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(
    await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
}

async function sandbox(): Promise<Sandbox> {
  const base = await Deno.makeTempDir({ prefix: "basalt-hostile-worker-" });
  // What an attacker wants: the worker's key (outside any image store), and places to write.
  await Deno.mkdir(`${base}/keys`);
  const secret = `${base}/keys/worker.key_secret`;
  await Deno.writeTextFile(secret, 'secret-key = "do-not-read"\n');
  await Deno.mkdir(`${base}/outside`);
  await Deno.writeTextFile(`${base}/outside/victim`, "untouched\n");
  // The image store the worker allows file:// from, holding a symlink to the key.
  const allowed = `${base}/images`;
  await Deno.mkdir(allowed);
  await Deno.writeTextFile(`${allowed}/kernel`, "not a kernel\n");
  await Deno.symlink(secret, `${allowed}/link-to-key`);
  const bomb = await gzipped(new Uint8Array(32 << 20));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/bomb.gz") return new Response(bomb);
    if (path === "/testdef.yaml") return new Response(TESTDEF);
    if (path === "/backed.qcow2") return new Response(backedQcow2(secret));
    return new Response("not a kernel either\n");
  });
  return {
    base,
    http: `http://127.0.0.1:${server.addr.port}`,
    allowed,
    secret,
    async close() {
      await server.shutdown();
      await Deno.remove(base, { recursive: true });
    },
  };
}

/** The header of a qcow2 image whose backing file is `backing`. */
function backedQcow2(backing: string): Uint8Array<ArrayBuffer> {
  const image = new Uint8Array(1024);
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x514649fb);
  view.setUint32(4, 3);
  view.setBigUint64(8, 512n);
  view.setUint32(16, backing.length);
  image.set(new TextEncoder().encode(backing), 512);
  return image;
}

/** Every path outside the jobs' directories, with its size and content hash. */
async function outsideJobs(base: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (dir === base && entry.name.startsWith("job-")) continue;
      const info = await Deno.lstat(path);
      if (info.isDirectory) await walk(path);
      else {
        const data = info.isFile ? await Deno.readFile(path) : new TextEncoder().encode(await Deno.readLink(path));
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
        found.push(`${path} ${info.size} ${Array.from(hash.slice(0, 8)).join(".")}`);
      }
    }
  };
  await walk(base);
  return found.sort();
}

function qemuJob(images: Record<string, unknown>, tests?: unknown[]): Record<string, unknown> {
  return {
    device_type: "qemu",
    job_name: "hostile",
    timeouts: { job: { minutes: 2 }, action: { seconds: 60 } },
    visibility: "public",
    actions: [
      { deploy: { to: "tmpfs", images } },
      { boot: { method: "qemu", media: "tmpfs", prompts: ["/ # "], timeout: { seconds: 20 } } },
      ...(tests ? [{ test: { timeout: { seconds: 20 }, definitions: tests } }] : []),
    ],
  };
}

let jobs = 0;

/** Runs `job` and checks that nothing outside the job's directory changed. */
async function attack(
  box: Sandbox,
  job: unknown,
  options: { device?: string; args?: string[] } = {},
): Promise<DispatchRun & { error: string }> {
  const before = await outsideJobs(box.base);
  const run = await runDispatcher({
    dir: `${box.base}/job-${++jobs}`,
    job,
    device: options.device ?? qemuDeviceYaml(),
    args: ["--file-dirs", box.allowed, "--cache-dir", `${box.base}/job-${jobs}/cache`, ...(options.args ?? [])],
  });
  assertEquals(await outsideJobs(box.base), before, "the job changed files outside its directory");
  assertEquals([run.code, run.result.result], [1, "fail"], JSON.stringify(run.records.slice(-5)));
  const error = `${run.result.error_type}: ${run.result.error_msg}`;
  const logged = JSON.stringify(run.records);
  assert(!logged.includes("do-not-read"), "the worker's secret key reached the job's log");
  return { ...run, error };
}

const kernel = (url: string) => ({ url, image_arg: "-kernel {kernel}" });

/** A job whose kernel downloads fine, with one test definition. */
const withTest = (box: Sandbox, definition: Record<string, unknown>) =>
  qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [definition]);

Deno.test("hostile jobs cannot make the dispatcher read or write outside the job's directory", async (t) => {
  const box = await sandbox();
  try {
    await t.step("a download named ../ by its URL's encoded last segment is refused", async () => {
      const url = `${box.http}/k%2F..%2F..%2F..%2F..%2F..%2Foutside%2Fpwned`;
      const run = await attack(box, qemuJob({ kernel: kernel(url) }));
      assertStringIncludes(run.error, "Job: http-download images.kernel.url");
      assertStringIncludes(run.error, "not a plain file name");
    });

    await t.step("an image key that climbs out of the downloads directory is refused", async () => {
      const run = await attack(box, qemuJob({ "../../../outside/pwned-key": kernel(`${box.http}/kernel`) }));
      assertStringIncludes(run.error, "Job: http-download images key");
    });

    await t.step("file:// cannot read the worker's key, directly or through a symlink in an image store", async () => {
      const direct = await attack(box, qemuJob({ kernel: kernel(`file://${box.secret}`) }));
      assertStringIncludes(direct.error, `Job: file-download images.kernel.url: ${box.secret} is outside`);
      assertStringIncludes(direct.error, `allowed: ${box.allowed}`);
      const linked = await attack(box, qemuJob({ kernel: kernel(`file://${box.allowed}/link-to-key`) }));
      assertStringIncludes(linked.error, `${box.allowed}/link-to-key is outside`);
    });

    await t.step(
      "a file:// image inside the allowed directory is downloaded (and the fake kernel fails boot)",
      async () => {
        const run = await attack(box, qemuJob({ kernel: kernel(`file://${box.allowed}/kernel`) }));
        const download = run.records.find((r) =>
          r.lvl === "results" && (r.msg as Record<string, unknown>).case === "file-download"
        );
        assertEquals((download?.msg as Record<string, unknown>)?.result, "pass");
      },
    );

    await t.step("a decompression bomb is stopped at the download size limit", async () => {
      const run = await attack(box, qemuJob({ kernel: { ...kernel(`${box.http}/bomb.gz`), compression: "gz" } }), {
        args: ["--max-download-size", "4M"],
      });
      assertStringIncludes(run.error, "Job: http-download images.kernel");
      assertStringIncludes(run.error, "more than 4 MiB");
    });

    await t.step("QEMU arguments from image_arg cannot name other files on the worker", async () => {
      const image = { url: `${box.http}/kernel`, image_arg: `-kernel {kernel} -drive file=${box.secret},format=raw` };
      const run = await attack(box, qemuJob({ kernel: image }));
      assertStringIncludes(run.error, "Job: execute-qemu images.kernel.image_arg");
      assert(!run.records.some((r) => String(r.msg).startsWith("Boot command")), "QEMU was started");
    });

    await t.step("a qcow2 image whose backing file is the worker's key is not given to QEMU", async () => {
      const disk = { url: `${box.http}/backed.qcow2`, image_arg: "-drive format=qcow2,file={disk},if=virtio" };
      const run = await attack(box, qemuJob({ kernel: kernel(`${box.http}/kernel`), disk }));
      assertStringIncludes(run.error, "Job: execute-qemu images.disk: the qcow2 image names a backing file");
      assert(!run.records.some((r) => String(r.msg).startsWith("Boot command")), "QEMU was started");
    });

    await t.step("a download name cannot add options to QEMU's -drive", async () => {
      // Relative to QEMU's working directory (the job's): a name without "/" still names a file.
      const url = `${box.http}/disk,file.filename=device.yaml`;
      const run = await attack(box, qemuJob({ kernel: kernel(`${box.http}/kernel`), disk: { url } }));
      const boot = run.records.map((r) => String(r.msg)).find((m) => m.startsWith("Boot command"));
      assert(boot !== undefined && !boot.includes(",file.filename"), boot);
    });

    await t.step("download headers must be HTTP headers, not lines or structures", async () => {
      for (const headers of [{ "X-A": "v\r\nX-Injected: 1" }, { "X A": "v" }, { "X-A": { nested: true } }]) {
        const run = await attack(box, qemuJob({ kernel: { ...kernel(`${box.http}/kernel`), headers } }));
        assertStringIncludes(run.error, "Job: http-download images.kernel.headers");
      }
    });

    await t.step("a git repository URL cannot pass options to git or use other transports", async () => {
      for (const repository of [`--upload-pack=touch ${box.base}/outside/pwned-git`, "ext::sh -c touch% /tmp/x"]) {
        const run = await attack(
          box,
          qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [{ from: "git", repository, path: "t.yaml", name: "g" }]),
        );
        assertStringIncludes(run.error, "Job: git-repo-action repository");
      }
      const branch = await attack(
        box,
        qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [
          { from: "git", repository: `${box.http}/r.git`, branch: "--upload-pack=touch /tmp/x", path: "t", name: "g" },
        ]),
      );
      assertStringIncludes(branch.error, "Job: git-repo-action branch");
    });

    await t.step("a local git repository outside the allowed directories is not cloned", async () => {
      const repo = `${box.base}/outside/repo`;
      await gitRepository(repo, { "t.yaml": TESTDEF });
      const run = await attack(
        box,
        withTest(box, { from: "git", repository: repo, path: "t.yaml", name: "g" }),
      );
      assertStringIncludes(run.error, `Job: git-repo-action repository: ${repo} is outside`);
    });

    await t.step("a cloned repository's symlinks can neither be read through nor written through", async () => {
      const repo = `${box.allowed}/repo`;
      await gitRepository(repo, { "t.yaml": TESTDEF }, {
        "secret.yaml": box.secret,
        "run.sh": `${box.base}/outside/victim`,
        "uuid": `${box.base}/outside/victim`,
      });
      const read = await attack(
        box,
        withTest(box, { from: "git", repository: repo, path: "secret.yaml", name: "g" }),
      );
      assertStringIncludes(read.error, 'Job: git-repo-action path: "secret.yaml" leads outside');
      // The generated run.sh and uuid replace the links: the victim is untouched (checked by attack()).
      const written = await attack(
        box,
        withTest(box, { from: "git", repository: repo, path: "t.yaml", name: "g" }),
        { args: ["--keep-work-dir"] },
      );
      assert(!written.error.startsWith("Job:"), written.error);
      const tests = `${box.base}/job-${jobs}/work/overlay/lava-42/0/tests/0_g`;
      assert((await Deno.lstat(`${tests}/run.sh`)).isFile, "run.sh is still a symlink");
    });

    await t.step("a test definition's path cannot climb out of its directory", async () => {
      for (const from of ["url", "git"]) {
        const repository = from === "url" ? `${box.http}/testdef.yaml` : `${box.allowed}/repo`;
        const run = await attack(
          box,
          qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [
            { from, repository, path: "../../../../../../../outside/pwned-path", name: "u" },
          ]),
        );
        assertStringIncludes(run.error, `Job: ${from}-repo-action path`);
      }
    });

    await t.step(
      "a test definition with an invalid parse pattern is the job's error, not a dispatcher bug",
      async () => {
        const run = await attack(
          box,
          qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [{
            from: "inline",
            name: "p",
            path: "inline/p.yaml",
            repository: {
              metadata: { format: "Lava-Test Test Definition 1.0", name: "p" },
              run: { steps: ["true"] },
              parse: { pattern: "(?P<test_case_id>[unclosed" },
            },
          }]),
        );
        assertStringIncludes(run.error, "Job: inline-repo-action parse.pattern");
      },
    );

    await t.step("lava_test_results_dir cannot put the overlay outside the work directory", async () => {
      const device = parseYaml(qemuDeviceYaml()) as Record<string, Record<string, Record<string, unknown>>>;
      device.constants.posix.lava_test_results_dir = "/../../../../outside/lava-%s";
      const run = await attack(
        box,
        qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [{
          from: "url",
          repository: `${box.http}/testdef.yaml`,
          path: "t.yaml",
          name: "t",
        }]),
        { device: stringify(device) },
      );
      assertStringIncludes(run.error, "constants.posix.lava_test_results_dir");
    });

    await t.step("environment and parameter names that are not shell names are refused", async () => {
      const job = qemuJob({ kernel: kernel(`${box.http}/kernel`) }, [{
        from: "url",
        repository: `${box.http}/testdef.yaml`,
        path: "t.yaml",
        name: "t",
        parameters: { "X=1; reboot; Y": "v" },
      }]);
      const run = await attack(box, job);
      assertStringIncludes(run.error, "Job: url-repo-action parameters");
    });
  } finally {
    await box.close();
  }
});

async function gitRepository(
  dir: string,
  files: Record<string, string>,
  links: Record<string, string> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  for (const [name, target] of Object.entries(links)) await Deno.symlink(target, `${dir}/${name}`);
  const git = (...args: string[]) => new Deno.Command("git", { args: ["-C", dir, ...args] }).output();
  await git("init", "-q");
  await git("add", ".");
  await git("-c", "user.email=ci@basalt.invalid", "-c", "user.name=ci", "commit", "-qm", "tests");
}

Deno.test("a booted device printing floods, control characters and absurd measurements does not upset the dispatcher", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-hostile-device-" });
  try {
    const steps = [
      // 300 KB without a newline, then the test goes on.
      "head -c 300000 /dev/zero | tr '\\0' x",
      "echo",
      `lava-test-case "$(printf 'esc\\033[31mnul\\001')" --result pass`,
      "lava-test-case huge --result pass --measurement 1e20 --units MiB",
      "lava-test-case nan --result pass --measurement NaN",
      "lava-test-case fine --result pass --measurement 2.5",
      'i=0; while [ $i -lt 300 ]; do echo "<LAVA_SIGNAL_STARTTC open-$i>"; i=$((i+1)); done',
    ];
    const run = await runDispatcher({
      dir,
      job: dutJob({ tests: [inlineTest("hostile-output", steps)], testSeconds: 120 }),
      device: qemuDeviceYaml(),
      args: ["--file-dirs", DUT_DIR],
    });
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.records.slice(-5)));
    const cases = run.records.filter((r) => r.lvl === "results").map((r) => r.msg as Record<string, unknown>)
      .filter((r) => r.definition === "0_hostile-output");
    const byName = Object.fromEntries(cases.map((c) => [String(c.case), c]));
    assertEquals(byName["esc\\x1b[31mnul\\x01"]?.result, "pass", JSON.stringify(Object.keys(byName)));
    assertEquals([byName.huge?.result, byName.huge?.measurement], ["fail", undefined]);
    assertEquals([byName.nan?.result, byName.nan?.measurement], ["fail", undefined]);
    assertEquals([byName.fine?.result, byName.fine?.measurement], ["pass", 2.5]);
    // The flood was logged whole, in pieces no longer than a console line.
    const target = run.records.filter((r) => r.lvl === "target").map((r) => String(r.msg));
    assert(target.every((line) => line.length <= 16 * 1024), "a console line longer than 16 KiB was logged");
    assert(target.join("").includes("x".repeat(300_000)), "the flood was not logged whole");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker will not serve file:// from a directory that holds its state", async () => {
  const base = await Deno.makeTempDir({ prefix: "basalt-hostile-dirs-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../../worker/main.ts", import.meta.url).pathname,
        "--name",
        "w-dirs",
        "--master",
        "tcp://127.0.0.1:1",
        "--state-dir",
        `${base}/state`,
        "--file-dirs",
        base,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(output.code, 2);
    assertStringIncludes(new TextDecoder().decode(output.stderr), `would let jobs read the worker's state directory`);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
