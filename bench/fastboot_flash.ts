/**
 * Fastboot flash throughput: the same image flashed to the simulated fastboot
 * board (worker/sim/fastboot_bootloader.ts, on 127.0.0.1) by Debian's
 * `fastboot` client run by hand and by Basalt's fastboot driver (the client
 * again, its output read into a job log). Bytes per second of each, best of a
 * few runs; target: Basalt ≥ 0.95 of the raw client.
 *
 *   deno run -A bench/fastboot_flash.ts      (also part of `deno task bench dispatch`)
 */
import { FastbootBootloader } from "../worker/sim/fastboot_bootloader.ts";
import { freePort } from "../worker/drivers/free_port.ts";
import { runFastboot } from "../worker/drivers/fastboot.ts";
import { JobLog } from "../worker/job/log.ts";

export interface FlashThroughput {
  readonly bytes: number;
  readonly runs: number;
  readonly rawBytesPerSecond: number;
  readonly basaltBytesPerSecond: number;
}

const IMAGE_BYTES = 128 << 20;

export async function flashThroughput(runs = 5): Promise<FlashThroughput> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-flash-" });
  const port = freePort();
  const board = new FastbootBootloader(
    {
      kind: "fastboot",
      port,
      serialno: "bench",
      maxDownload: 256 << 20,
      partitions: { userdata: 256 << 20 },
      qemu: [],
    },
    { write: () => {}, boot: () => {}, shutdown: () => {}, dir },
  );
  try {
    board.start();
    await listening(port);
    // Random bytes: nothing for the client to leave out, every byte crosses the wire.
    const image = `${dir}/userdata.img`;
    const file = await Deno.open(image, { write: true, create: true });
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < IMAGE_BYTES / chunk.length; i++) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      await file.write(chunk);
    }
    file.close();
    const target = { serial: `tcp:127.0.0.1:${port}`, options: [] };
    const once = async (flash: () => Promise<boolean>) => {
      const started = performance.now();
      if (!await flash()) throw new Error("the flash failed");
      return performance.now() - started;
    };
    const rawFlash = async () =>
      (await new Deno.Command("fastboot", {
        args: ["-s", target.serial, "flash", "userdata", image],
        stdout: "null",
        stderr: "null",
      }).output()).success;
    const log = new JobLog([]);
    const basaltFlash = async () =>
      (await runFastboot(target, ["flash", "userdata", image], log, AbortSignal.timeout(120_000))).code === 0;
    // Taken in turns, so that whatever else the machine does weighs on both alike.
    let rawBest = Infinity;
    let basaltBest = Infinity;
    for (let i = 0; i < runs; i++) {
      rawBest = Math.min(rawBest, await once(rawFlash));
      basaltBest = Math.min(basaltBest, await once(basaltFlash));
    }
    const raw = IMAGE_BYTES / (rawBest / 1000);
    const basalt = IMAGE_BYTES / (basaltBest / 1000);
    return { bytes: IMAGE_BYTES, runs, rawBytesPerSecond: raw, basaltBytesPerSecond: basalt };
  } finally {
    board.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error("the simulated fastboot board did not listen");
}

export function formatFlashThroughput(f: FlashThroughput): string {
  const mbps = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB/s`;
  const ratio = f.basaltBytesPerSecond / f.rawBytesPerSecond;
  return `fastboot flash of ${f.bytes >> 20} MiB to the simulated board (best of ${f.runs}): raw client ` +
    `${mbps(f.rawBytesPerSecond)}, Basalt ${mbps(f.basaltBytesPerSecond)} = ${ratio.toFixed(2)} of raw ` +
    `(target ≥ 0.95: ${ratio >= 0.95 ? "met" : "MISSED"})`;
}

if (import.meta.main) console.log(formatFlashThroughput(await flashThroughput()));
