/**
 * Running one job with `deno task dispatch` on the QEMU device, as a worker starts
 * a dispatcher: the log records it wrote, its result and description.
 */
import { parse as parseYaml, stringify } from "yaml";
import { textStream } from "../../actors/text_stream.ts";
import { DUT_DIR, qemuDeviceYaml } from "./dut.ts";

export interface Dispatched {
  code: number;
  records: { dt: string; lvl: string; msg: unknown }[];
  result: Record<string, unknown>;
  /** The dispatcher's description.yaml, when it wrote one. */
  description?: string;
  /** Removed once the run is read; kept for finding processes that outlive it. */
  outputDir: string;
  seconds: number;
}

const ROOT = new URL("../..", import.meta.url).pathname;

export async function dispatch(
  job: Record<string, unknown>,
  options: {
    cancelAfter?: (r: Dispatched["records"]) => boolean;
    /** Device dictionary lines for the QEMU device (user commands, constants...). */
    dictionary?: string;
  } = {},
): Promise<Dispatched> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-dispatch-" });
  await Deno.writeTextFile(`${dir}/job.yaml`, stringify(job));
  await Deno.writeTextFile(`${dir}/device.yaml`, qemuDeviceYaml("qemu-test", options.dictionary ?? ""));
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--quiet",
      "dispatch",
      "--job-id",
      "42",
      "--output-dir",
      `${dir}/out`,
      "--device",
      `${dir}/device.yaml`,
      // The device image, and the test's git repositories in the temporary directory.
      "--file-dirs",
      `${DUT_DIR},${Deno.env.get("TMPDIR") ?? "/tmp"}`,
      `${dir}/job.yaml`,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const records: Dispatched["records"] = [];
  let buffer = "";
  let cancelled = false;
  for await (const chunk of textStream(child.stderr)) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      records.push(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
    }
    if (!cancelled && options.cancelAfter?.(records)) {
      cancelled = true;
      // deno task runs the dispatcher as its child: signal the whole group's leader chain.
      await new Deno.Command("pkill", { args: ["-TERM", "-f", "--", `--output-dir ${dir}/out`] }).output();
    }
  }
  const status = await child.status;
  const seconds = (performance.now() - started) / 1000;
  try {
    const result = parseYaml(await Deno.readTextFile(`${dir}/out/result.yaml`)) as Record<string, unknown>;
    const description = await Deno.readTextFile(`${dir}/out/description.yaml`).catch(() => undefined);
    return { code: status.code, records, result, description, outputDir: `${dir}/out`, seconds };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The records of the `results` level, as the dispatcher logged them. */
export const results = (d: Dispatched): Record<string, unknown>[] =>
  d.records.filter((r) => r.lvl === "results").map((r) => r.msg as Record<string, unknown>);
