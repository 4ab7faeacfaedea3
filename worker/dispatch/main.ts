/**
 * `deno task dispatch --job-id ID --output-dir DIR --device DEVICE.yaml
 *  [--dispatcher D.yaml] [--env-dut E.yaml] [--cache-dir DIR] [--file-dirs DIR[,DIR]]
 *  [--max-download-size SIZE] JOB.yaml`
 *
 * Runs a job without any server, taking the same arguments and the same rendered
 * device YAML as LAVA's `lava-run`. The log goes to stderr (or to --log-file,
 * which is how a worker runs it), one `{"dt","lvl","msg"}` record per line; `description.yaml` and `result.yaml` go to the output
 * directory; the exit code is 0 when the job passed, 1 when it failed, 2 for a
 * wrong command line. SIGTERM cancels the job (the device is still powered off).
 *
 * `--file-dirs` lists the only directories `file://` URLs and local git
 * repositories may read from (default: the usual image stores, see
 * DEFAULT_FILE_DIRS); `--max-download-size` bounds one download once
 * decompressed (default 16G).
 */
import { parseArgs } from "../../actors/cli/parse_args.ts";
import { readTextOrExit } from "../../actors/cli/command_line.ts";
import { runJob } from "./run.ts";
import { fileSink, stderrSink } from "../job/log.ts";
import { DEFAULT_FILE_DIRS, parseSize } from "../drivers/download.ts";

const USAGE = "usage: deno task dispatch --job-id ID --output-dir DIR --device DEVICE.yaml " +
  "[--dispatcher DISPATCHER.yaml] [--env-dut ENV.yaml] [--cache-dir DIR] [--work-dir DIR] [--keep-work-dir] " +
  "[--file-dirs DIR[,DIR...]] [--max-download-size SIZE] [--log-file FILE] JOB.yaml";

function read(path: string | undefined, what: string): string | undefined {
  return path === undefined ? undefined : readTextOrExit("dispatch", path, what, 2);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        "job-id": { type: "string" },
        "output-dir": { type: "string" },
        device: { type: "string" },
        dispatcher: { type: "string" },
        "env-dut": { type: "string" },
        "cache-dir": { type: "string" },
        "work-dir": { type: "string" },
        "keep-work-dir": { type: "boolean" },
        "log-file": { type: "string" },
        "file-dirs": { type: "string" },
        "max-download-size": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`dispatch: ${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const missing = ["job-id", "output-dir", "device"].filter((k) => values[k as keyof typeof values] === undefined);
  if (missing.length > 0 || positionals.length !== 1) {
    console.error(
      `dispatch: ${missing.length ? `missing --${missing.join(", --")}` : "give exactly one JOB.yaml"}\n${USAGE}`,
    );
    Deno.exit(2);
  }
  const maxDownloadBytes = values["max-download-size"] === undefined
    ? undefined
    : parseSize(values["max-download-size"]);
  if (values["max-download-size"] !== undefined && maxDownloadBytes === undefined) {
    console.error(
      `dispatch: --max-download-size ${values["max-download-size"]}: give bytes or 64K, 512M, 16G\n${USAGE}`,
    );
    Deno.exit(2);
  }
  const fileDirs = values["file-dirs"] === undefined
    ? DEFAULT_FILE_DIRS
    : values["file-dirs"].split(",").filter((d) => d !== "");
  const cancel = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => cancel.abort());
  const outcome = await runJob({
    jobId: values["job-id"]!,
    definition: read(positionals[0], "job definition")!,
    device: read(values.device, "device configuration")!,
    dispatcher: read(values.dispatcher, "dispatcher configuration"),
    envDut: read(values["env-dut"], "device environment"),
    outputDir: values["output-dir"]!,
    workDir: values["work-dir"],
    cacheDir: values["cache-dir"],
    fileDirs,
    maxDownloadBytes,
    keepWorkDir: values["keep-work-dir"],
    sinks: [values["log-file"] ? fileSink(values["log-file"]) : stderrSink],
    cancel: cancel.signal,
  });
  Deno.exit(outcome.result === "pass" ? 0 : 1);
}
