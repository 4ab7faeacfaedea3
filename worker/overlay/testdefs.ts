/**
 * Test definitions from a job's test actions, made ready for the device: fetched
 * (`from: git` — a local repository or any reachable URL —, `from: url`, or
 * `from: inline`), parsed ("Lava-Test Test Definition 1.0"), and turned into the
 * `install.sh` and `run.sh` the runner executes, with the job's parameters.
 */
import { join } from "node:path";
import { isMapping } from "../../actors/definitions/schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { InfrastructureError, JobError } from "../dispatch/errors.ts";
import type { JobLog } from "../dispatch/log.ts";
import { fetchToFile } from "../dispatch/download.ts";

export interface TestDefinitionRef {
  readonly name: string;
  readonly from: "git" | "url" | "inline";
  readonly path: string;
  readonly repository: unknown;
  readonly branch?: string;
  readonly revision?: string;
  readonly history?: boolean;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly skipInstall?: readonly string[];
  readonly signal?: "kmsg" | "stdout";
}

/** A definition as found in a test action's `definitions` list. */
export function testDefinitionRef(raw: Record<string, unknown>): TestDefinitionRef {
  return {
    name: String(raw.name),
    from: raw.from as TestDefinitionRef["from"],
    path: String(raw.path ?? ""),
    repository: raw.repository,
    ...(typeof raw.branch === "string" ? { branch: raw.branch } : {}),
    ...(typeof raw.revision === "string" ? { revision: raw.revision } : {}),
    ...(typeof raw.history === "boolean" ? { history: raw.history } : {}),
    parameters: isMapping(raw.parameters) ? raw.parameters : isMapping(raw.params) ? raw.params : {},
    skipInstall: Array.isArray(raw.skip_install) ? raw.skip_install.map(String) : [],
    ...(raw["lava-signal"] === "kmsg" ? { signal: "kmsg" as const } : {}),
  };
}

export interface PreparedTest {
  /** `<index>_<name>`: the test run's id and its results suite. */
  readonly runId: string;
  readonly uuid: string;
  readonly name: string;
  readonly testdef: Record<string, unknown>;
  /** Where the repository was taken from, for the results. */
  readonly repository: string;
  readonly path: string;
  readonly revision?: string;
  /** The parse pattern (deprecated, still supported) and its fixups. */
  readonly parse?: { pattern: string; fixupdict: Record<string, string> };
  readonly expected: readonly string[];
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr).trim() || `exit ${output.code}`}`,
    );
  }
  return text.trim();
}

/** Quotes a value for a POSIX shell. */
export function shellQuote(value: unknown): string {
  const text = typeof value === "string" ? value : value === null || value === undefined ? "" : String(value);
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Fetches a definition's repository into `dir` (which becomes the test's directory). */
async function fetchRepository(
  ref: TestDefinitionRef,
  dir: string,
  log: JobLog,
): Promise<{ testdef: string; revision?: string; repository: string }> {
  if (ref.from === "inline") {
    const text = JSON.stringify(ref.repository);
    await Deno.writeTextFile(join(dir, "inline-testdef.json"), text);
    return { testdef: text, repository: "inline" };
  }
  const repository = String(ref.repository);
  if (ref.from === "git") {
    log.info(`Fetching tests from ${repository}${ref.branch ? ` (branch ${ref.branch})` : ""}`);
    try {
      await run("git", ["clone", "--quiet", ...(ref.branch ? ["--branch", ref.branch] : []), repository, dir]);
      if (ref.revision) await run("git", ["checkout", "--quiet", ref.revision], dir);
      const revision = await run("git", ["rev-parse", "HEAD"], dir);
      if (ref.history === false) await Deno.remove(join(dir, ".git"), { recursive: true });
      const testdef = await Deno.readTextFile(join(dir, ref.path)).catch(() => {
        throw new JobError(`test definition ${ref.name}: ${ref.path} is not in ${repository}`);
      });
      return { testdef, revision, repository };
    } catch (error) {
      if (error instanceof JobError) throw error;
      throw new InfrastructureError(
        `test definition ${ref.name}: cannot clone ${repository}: ${(error as Error).message}`,
      );
    }
  }
  // from: url — a single test definition file.
  log.info(`Fetching test definition ${ref.name} from ${repository}`);
  const target = join(dir, ref.path || "testdef.yaml");
  await Deno.mkdir(join(target, ".."), { recursive: true });
  await fetchToFile(repository, target, { signal: undefined });
  return { testdef: await Deno.readTextFile(target), repository };
}

function steps(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s) => s !== null && s !== undefined).map(String) : [];
}

/** The install commands for the device's OS (`os` of the deploy action). */
function installDeps(os: string | undefined, deps: string[]): string[] {
  if (deps.length === 0) return [];
  const packages = deps.map(shellQuote).join(" ");
  switch (os) {
    case "debian":
    case "ubuntu":
      return [`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${packages}`];
    case "fedora":
    case "centos":
      return [`dnf install -y ${packages}`];
    default:
      return [`echo "lava: not installing ${deps.join(" ")} (no package manager known for os '${os ?? "unset"}')"`];
  }
}

export interface PrepareOptions {
  readonly index: number;
  readonly dir: string;
  /** The directory the test has on the device. */
  readonly deviceDir: string;
  readonly os?: string;
  readonly log: JobLog;
}

/** Fetches and generates one test into `options.dir`. */
export async function prepareTest(ref: TestDefinitionRef, options: PrepareOptions): Promise<PreparedTest> {
  const runId = `${options.index}_${ref.name}`;
  await Deno.mkdir(options.dir, { recursive: true });
  const fetched = await fetchRepository(ref, options.dir, options.log);
  const loaded = loadYaml(fetched.testdef);
  if (loaded.errors.length > 0 || !isMapping(loaded.value)) {
    throw new JobError(
      `test definition ${ref.name} (${ref.path}) is not valid YAML: ${loaded.errors[0]?.message ?? "not a mapping"}`,
    );
  }
  const testdef = loaded.value;
  const metadata = isMapping(testdef.metadata) ? testdef.metadata : {};
  if (metadata.format !== "Lava-Test Test Definition 1.0") {
    throw new JobError(`test definition ${ref.name}: metadata.format must be "Lava-Test Test Definition 1.0"`);
  }
  const uuid = crypto.randomUUID();
  await Deno.writeTextFile(join(options.dir, "uuid"), `${uuid}\n`);
  await Deno.writeTextFile(join(options.dir, "testdef.yaml"), fetched.testdef);

  const install = isMapping(testdef.install) ? testdef.install : {};
  const skip = new Set(ref.skipInstall ?? []);
  const installLines: string[] = [];
  if (!skip.has("all")) {
    if (!skip.has("deps")) installLines.push(...installDeps(options.os, steps(install.deps)));
    if (!skip.has("steps")) installLines.push(...steps(install.steps));
  }
  if (installLines.length > 0) {
    await Deno.writeTextFile(join(options.dir, "install.sh"), ["#!/bin/sh", "set -e", ...installLines, ""].join("\n"));
  }

  const defaults = isMapping(testdef.params) ? testdef.params : isMapping(testdef.parameters) ? testdef.parameters : {};
  const exported = (title: string, values: Record<string, unknown>) => [
    `###${title}###`,
    ...Object.entries(values).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    "######",
  ];
  const runSteps = steps(isMapping(testdef.run) ? testdef.run.steps : undefined);
  const script = [
    "#!/bin/sh",
    ...(ref.signal === "kmsg" ? ["# USE_KMSG", "export LAVA_SIGNAL_KMSG=1"] : []),
    ...exported("default parameters from test definition", defaults),
    ...exported("test parameters from job submission", ref.parameters ?? {}),
    "set -e",
    `export TESTRUN_ID=${runId}`,
    `cd ${shellQuote(options.deviceDir)}`,
    "UUID=`cat uuid`",
    `. "$LAVA_BIN/lava-common"`,
    `lava_signal "<LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>"`,
    ...runSteps,
    `lava_signal "<LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>"`,
    "",
  ];
  await Deno.writeTextFile(join(options.dir, "run.sh"), script.join("\n"));

  const parse = isMapping(testdef.parse) && typeof testdef.parse.pattern === "string"
    ? {
      pattern: testdef.parse.pattern,
      fixupdict: isMapping(testdef.parse.fixupdict)
        ? Object.fromEntries(Object.entries(testdef.parse.fixupdict).map(([k, v]) => [k, String(v)]))
        : {},
    }
    : undefined;
  return {
    runId,
    uuid,
    name: ref.name,
    testdef,
    repository: fetched.repository,
    path: ref.path,
    ...(fetched.revision ? { revision: fetched.revision } : {}),
    ...(parse ? { parse } : {}),
    expected: Array.isArray(testdef.expected) ? testdef.expected.map(String) : [],
  };
}
