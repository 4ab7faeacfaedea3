import { createHash } from "node:crypto";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { download, inParallel } from "./download.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";

const CONTENT = new TextEncoder().encode("kernel image bytes\n".repeat(1000));
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function compressed(tool: string[], data: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(tool[0], { args: tool.slice(1), stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(data);
  await writer.close();
  return (await child.output()).stdout;
}

/** A local HTTP server with the test files; counts requests per path. */
async function withServer(
  files: Record<string, Uint8Array | number>,
  fn: (base: string, hits: Map<string, number>) => Promise<void>,
) {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = files[path];
    if (typeof file === "number") return new Response("no", { status: file });
    return file ? new Response(file as Uint8Array<ArrayBuffer>) : new Response("missing", { status: 404 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("downloads decompress gz, xz, bz2 and zstd as they stream and check the checksum of what was fetched", async () => {
  const dir = await Deno.makeTempDir();
  const packed = {
    "/image.gz": await compressed(["gzip", "-c"], CONTENT),
    "/image.xz": await compressed(["xz", "-c"], CONTENT),
    "/image.bz2": await compressed(["bzip2", "-c"], CONTENT),
    "/image.zst": await compressed(["zstd", "-c", "-q"], CONTENT),
  };
  try {
    await withServer(packed, async (base) => {
      for (
        const [path, compression] of [["/image.gz", "gz"], ["/image.xz", "xz"], ["/image.bz2", "bz2"], [
          "/image.zst",
          "zstd",
        ]] as const
      ) {
        const target = `${dir}/${compression}.img`;
        const result = await download({
          url: `${base}${path}`,
          target,
          compression,
          sha256sum: sha256(packed[path]),
        });
        assertEquals(await Deno.readFile(target), CONTENT, compression);
        assertEquals(result.bytes, packed[path].length);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checksum that does not match, or a compression the file does not have, is the job's error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withServer(
      { "/plain.img": CONTENT, "/bz2.img": await compressed(["bzip2", "-c"], CONTENT) },
      async (base) => {
        const mismatch = await assertRejects(
          () => download({ url: `${base}/plain.img`, target: `${dir}/a`, sha256sum: "0".repeat(64) }),
          JobError,
        );
        assertStringIncludes(mismatch.message, "does not match");
        const lying = await assertRejects(
          () => download({ url: `${base}/bz2.img`, target: `${dir}/b`, compression: "xz" }),
          JobError,
        );
        assertStringIncludes(lying.message, 'declared "compression: xz"');
        const gzLie = await assertRejects(
          () => download({ url: `${base}/plain.img`, target: `${dir}/c`, compression: "gz" }),
          JobError,
        );
        assertStringIncludes(gzLie.message, "gzip");
        const missing = await assertRejects(() => download({ url: `${base}/nope.img`, target: `${dir}/d` }), JobError);
        assertStringIncludes(missing.message, "404");
        // Nothing half-written is left behind.
        assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server error or a refused connection is the lab's error", async () => {
  await withServer({ "/broken": 503 }, async (base) => {
    await assertRejects(
      () => download({ url: `${base}/broken`, target: "/tmp/basalt-never-1" }),
      InfrastructureError,
      "503",
    );
  });
  await assertRejects(
    () => download({ url: "http://127.0.0.1:1/x", target: "/tmp/basalt-never-2" }),
    InfrastructureError,
  );
});

Deno.test("a download with a checksum is cached by URL and checksum and not fetched again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withServer({ "/rootfs.img": CONTENT }, async (base, hits) => {
      const request = { url: `${base}/rootfs.img`, sha256sum: sha256(CONTENT), cacheDir: `${dir}/cache` };
      const first = await download({ ...request, target: `${dir}/1.img` });
      const second = await download({ ...request, target: `${dir}/2.img` });
      assertEquals([first.fromCache, second.fromCache], [false, true]);
      assertEquals(await Deno.readFile(`${dir}/2.img`), CONTENT);
      assertEquals(hits.get("/rootfs.img"), 1);
      // Without a checksum (and without use_cache) nothing is cached.
      await download({ url: request.url, target: `${dir}/3.img`, cacheDir: `${dir}/cache` });
      assertEquals(hits.get("/rootfs.img"), 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parallel work is bounded and reports the first failure after all settle", async () => {
  let running = 0;
  let peak = 0;
  const task = (fail: boolean) => async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 20));
    running--;
    if (fail) throw new Error("boom");
    return 1;
  };
  assertEquals(await inParallel([task(false), task(false), task(false), task(false)], 2), [1, 1, 1, 1]);
  assertEquals(peak, 2);
  await assertRejects(() => inParallel([task(false), task(true), task(false)], 2), Error, "boom");
  assert(running === 0);
});

Deno.test("a download larger than the limit once decompressed is refused, through gzip and through xz", async () => {
  const dir = await Deno.makeTempDir();
  const zeros = new Uint8Array(8 << 20);
  const packed = {
    "/bomb.gz": await compressed(["gzip", "-c"], zeros),
    "/bomb.xz": await compressed(["xz", "-c"], zeros),
    "/plain": zeros,
  };
  try {
    await withServer(packed, async (base) => {
      for (const [path, compression] of [["/bomb.gz", "gz"], ["/bomb.xz", "xz"], ["/plain", undefined]] as const) {
        const error = await assertRejects(
          () => download({ url: `${base}${path}`, target: `${dir}/x`, compression, maxBytes: 1 << 20, what: "t url" }),
          JobError,
        );
        assertStringIncludes(error.message, "t url: ");
        assertStringIncludes(error.message, "is more than 1 MiB");
        assertEquals([...Deno.readDirSync(dir)].length, 0, `${path} left a file behind`);
      }
      const fits = await download({
        url: `${base}/bomb.gz`,
        target: `${dir}/ok`,
        compression: "gz",
        maxBytes: 8 << 20,
      });
      assertEquals(fits.path, `${dir}/ok`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file:// reads only inside the allowed directories, symlinks resolved first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/images`);
    await Deno.writeTextFile(`${dir}/images/kernel`, "kernel");
    await Deno.writeTextFile(`${dir}/secret`, "secret");
    await Deno.symlink(`${dir}/secret`, `${dir}/images/link`);
    const allowed = [`${dir}/images`];
    const ok = await download({ url: `file://${dir}/images/kernel`, target: `${dir}/out/k`, fileDirs: allowed });
    assertEquals(await Deno.readTextFile(ok.path), "kernel");
    for (const url of [`file://${dir}/secret`, `file://${dir}/images/link`, `file://${dir}/images/../secret`]) {
      const error = await assertRejects(
        () => download({ url, target: `${dir}/out/s`, fileDirs: allowed, what: "f url" }),
        JobError,
      );
      assertStringIncludes(error.message, `(allowed: ${dir}/images)`);
    }
    await assertRejects(() => download({ url: `file://${dir}/images/kernel`, target: `${dir}/out/n` }), JobError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
