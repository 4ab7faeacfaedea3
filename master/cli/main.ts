/**
 * `deno task cli`: Basalt's own client. Locally it validates job files and
 * renders device dictionaries, like `lava-schema.py` and `lavacli devices dict
 * get --render` without a server; against a master it submits, follows and
 * cancels jobs, shows devices, workers and results, and listens to events.
 */
import { basename, dirname, join } from "../../actors/path.ts";
import { formatDiagnostic, validateJob } from "../../actors/definitions/job_schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { buildPipeline, describeJob } from "../../actors/definitions/pipeline.ts";
// Describing a job is building its pipeline as a dispatcher of this release would.
import { STRATEGIES } from "../../worker/strategies/mod.ts";
import { validateDeviceYaml } from "../../actors/definitions/device_schema.ts";
import { stringify } from "yaml";
import {
  type Command,
  type Program,
  runProgram,
  stringOption,
  stringOptions,
  UsageError,
} from "../../actors/cli/command_line.ts";
import { ApiClient, ApiError } from "./api_client.ts";
import { textTable } from "../../actors/cli/text_table.ts";
import { listSerialPorts } from "../../worker/drivers/serial.ts";
import { ser2netConfig, stableName, udevRules } from "../../worker/drivers/serial_config.ts";
import { type CliContext, REMOTE_COMMANDS } from "./remote_commands.ts";
import { RESERVATION_COMMANDS } from "./reservation_commands.ts";
import { BUILTIN_TEMPLATES, dictionaryProblems, extendedTemplate, renderDevice } from "../devices/dictionary.ts";
import { jinjaEnvironment, TemplateError } from "../devices/jinja.ts";

/** Thrown for files that cannot be read: exit 1 with the message. */
class InputError extends Error {}

function readFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new InputError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

/**
 * Template directories as given, accepting LAVA's layout too: a directory holding
 * `device-types/` (and `devices/`) is expanded to those.
 */
export function templateSearchPath(dictionaryPath: string, given: readonly string[]): string[] {
  const paths = [dirname(dictionaryPath)];
  for (const dir of given) {
    const expanded = ["devices", "device-types"].map((sub) => join(dir, sub)).filter((sub) => {
      try {
        return Deno.statSync(sub).isDirectory;
      } catch {
        return false;
      }
    });
    paths.push(...(expanded.length > 0 ? expanded : [dir]));
  }
  paths.push(BUILTIN_TEMPLATES);
  return [...new Set(paths)];
}

/** `--context KEY=VALUE`: the value is read as YAML, so `no_kvm=true` is a boolean. */
export function parseContext(assignments: readonly string[]): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf("=");
    if (equals <= 0) throw new UsageError(`--context ${JSON.stringify(assignment)}: expected KEY=VALUE`);
    const loaded = loadYaml(assignment.slice(equals + 1));
    context[assignment.slice(0, equals)] = loaded.errors.length === 0 ? loaded.value : assignment.slice(equals + 1);
  }
  return context;
}

const COMMANDS: readonly Command<CliContext>[] = [
  {
    path: ["jobs", "validate"],
    summary: "check job files against LAVA's job schema; prints FILE:LINE:COL: PATH: MESSAGE per problem",
    positionals: ["FILE..."],
    options: {
      strict: { type: "boolean", help: "unknown keys are errors (LAVA's strict mode)" },
      quiet: { type: "boolean", help: "print nothing for valid files and no warnings" },
    },
    run({ values, positionals, print, printError }) {
      let invalid = 0;
      for (const file of positionals) {
        const result = validateJob(readFile(file), { file, strict: values.strict === true });
        for (const error of result.errors) print(formatDiagnostic(error));
        if (values.quiet !== true) {
          for (const warning of result.warnings) {
            printError(formatDiagnostic({ ...warning, message: `warning: ${warning.message}` }));
          }
          for (const refusal of result.refusals) {
            printError(formatDiagnostic({ ...refusal, message: `warning: refused at submission: ${refusal.message}` }));
          }
          if (result.valid) printError(`${file}: valid`);
        }
        if (!result.valid) invalid++;
      }
      return Promise.resolve(invalid === 0 ? 0 : 1);
    },
  },
  {
    path: ["jobs", "describe"],
    summary: "print the pipeline Basalt would run for a job on a device, in the shape of LAVA's describe()",
    positionals: ["JOB.yaml"],
    options: {
      device: { type: "string", help: "the rendered device configuration (deno task cli devices render makes one)" },
      "job-id": { type: "string", help: "the job id shown in the description (default 0)" },
    },
    run({ values, positionals, print, printError }) {
      const device = stringOption(values, "device");
      if (device === undefined) throw new UsageError("--device DEVICE.yaml is required");
      if (positionals.length !== 1) throw new UsageError("give exactly one JOB.yaml");
      const job = validateJob(readFile(positionals[0]), { file: positionals[0] });
      const config = validateDeviceYaml(readFile(device), device);
      const problems = [...job.errors, ...config.errors];
      for (const problem of problems) printError(formatDiagnostic(problem));
      if (problems.length > 0) return Promise.resolve(1);
      for (const refusal of job.refusals) {
        printError(formatDiagnostic({ ...refusal, message: `warning: refused at submission: ${refusal.message}` }));
      }
      const pipeline = buildPipeline(job.job, config.config, STRATEGIES);
      print(stringify(describeJob(job.job, config.config, stringOption(values, "job-id") ?? "0", pipeline)).trimEnd());
      return Promise.resolve(0);
    },
  },
  {
    path: ["devices", "render"],
    summary: "render a device dictionary with a job context and check it against the device schema",
    positionals: ["DICTIONARY"],
    options: {
      templates: {
        type: "string",
        multiple: true,
        help: "a device-types directory, or a LAVA dispatcher-config directory holding device-types/",
      },
      context: { type: "string", multiple: true, help: "a job context value, KEY=VALUE (VALUE read as YAML)" },
      hostname: { type: "string", help: "the device's name (default: the dictionary's file name)" },
    },
    run({ values, positionals, print, printError }) {
      const path = positionals[0];
      const dictionary = readFile(path);
      const problems = dictionaryProblems(dictionary);
      if (problems.length > 0) {
        for (const p of problems) printError(`${path}:${p.line}:1: ${p.message}`);
        return Promise.resolve(1);
      }
      const template = extendedTemplate(dictionary)!;
      const env = jinjaEnvironment(templateSearchPath(path, stringOptions(values, "templates")));
      const hostname = typeof values.hostname === "string" ? values.hostname : basename(path).replace(/\.jinja2?$/, "");
      const rendered = renderDevice(env, {
        dictionary,
        name: path,
        hostname,
        deviceType: template.replace(/\.jinja2$/, ""),
        context: parseContext(stringOptions(values, "context")),
      });
      print(rendered.yaml);
      for (const error of rendered.errors) printError(formatDiagnostic(error));
      return Promise.resolve(rendered.errors.length === 0 ? 0 : 1);
    },
  },
  {
    path: ["serial", "list"],
    summary: "this machine's serial ports with their USB identity; --udev and --ser2net print configuration for them",
    positionals: [],
    options: {
      udev: { type: "boolean", help: "print udev rules giving each USB adapter a stable /dev name" },
      ser2net: { type: "boolean", help: "print a ser2net 4 YAML configuration serving each port over telnet" },
      "first-port": { type: "string", help: "the first TCP port for --ser2net (default 7001)" },
    },
    async run({ values, print }) {
      const ports = await listSerialPorts();
      if (values.udev) return print(udevRules(ports).trimEnd());
      if (values.ser2net) {
        const first = typeof values["first-port"] === "string" ? Number(values["first-port"]) : 7001;
        if (!Number.isInteger(first) || first <= 0 || first > 65535) {
          throw new UsageError(`--first-port ${values["first-port"]} is not a port`);
        }
        return print(ser2netConfig(ports, { firstPort: first }).trimEnd());
      }
      if (ports.length === 0) return print("no serial ports found");
      print(textTable(
        ["port", "vendor:product", "serial", "manufacturer", "stable name"],
        ports.map((p) => [
          p.path,
          p.vendorId ? `${p.vendorId}:${p.productId}` : "-",
          p.serialNumber ?? "-",
          p.manufacturer ?? "-",
          p.serialNumber ? stableName(p) : "-",
        ]),
      ));
    },
  },
];

export const CLI: Program<CliContext> = {
  name: "cli",
  commands: [...COMMANDS, ...REMOTE_COMMANDS, ...RESERVATION_COMMANDS],
  globalOptions: {
    url: { type: "string", help: "the master (default $BASALT_URL or http://127.0.0.1:8000)" },
    token: { type: "string", help: "your API token (default $BASALT_TOKEN)" },
  },
  prepare: (_command, values) => {
    let client: ApiClient | undefined;
    const context: CliContext = {
      client: () =>
        client ??= new ApiClient(
          (stringOption(values, "url") ?? Deno.env.get("BASALT_URL") ?? "http://127.0.0.1:8000").replace(/\/+$/, ""),
          stringOption(values, "token") ?? Deno.env.get("BASALT_TOKEN"),
        ),
    };
    return Promise.resolve({ context, close: () => Promise.resolve() });
  },
  isUserError: (error) => error instanceof InputError || error instanceof TemplateError || error instanceof ApiError,
};

if (import.meta.main) {
  Deno.exit(await runProgram(CLI, Deno.args));
}
