/**
 * `deno task dispatch` as a worker runs it: a separate process given a job
 * directory, whose log records (stderr) and `result.yaml` a test reads back.
 */
import { parse as parseYaml, stringify } from "yaml";
import { textStream } from "../../actors/text_stream.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface DispatchRecord {
  readonly dt: string;
  readonly lvl: string;
  readonly msg: unknown;
}

export interface DispatchRun {
  readonly code: number;
  readonly records: DispatchRecord[];
  /** `out/result.yaml`; empty when the dispatcher wrote none. */
  readonly result: Record<string, unknown>;
}

export interface DispatchOptions {
  /** The job's directory: `job.yaml`, `device.yaml`, `out/` and `work/` go in it. */
  readonly dir: string;
  readonly job: unknown;
  readonly device: string;
  /** More command-line options (`--file-dirs`, `--cache-dir` ...). */
  readonly args?: readonly string[];
  readonly jobId?: string;
}

/** Runs the dispatcher on one job to its end. */
export async function runDispatcher(options: DispatchOptions): Promise<DispatchRun> {
  const { dir } = options;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/job.yaml`, typeof options.job === "string" ? options.job : stringify(options.job));
  await Deno.writeTextFile(`${dir}/device.yaml`, options.device);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}worker/dispatch/main.ts`,
      "--job-id",
      options.jobId ?? "42",
      "--output-dir",
      `${dir}/out`,
      "--work-dir",
      `${dir}/work`,
      "--device",
      `${dir}/device.yaml`,
      ...(options.args ?? []),
      `${dir}/job.yaml`,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const records: DispatchRecord[] = [];
  let buffer = "";
  for await (const chunk of textStream(child.stderr)) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        records.push(JSON.parse(line));
      } catch {
        records.push({ dt: "", lvl: "stderr", msg: line });
      }
    }
  }
  const status = await child.status;
  const result = await Deno.readTextFile(`${dir}/out/result.yaml`).then(
    (text) => parseYaml(text) as Record<string, unknown>,
    () => ({}),
  );
  return { code: status.code, records, result };
}
