/**
 * Test definitions from a job's test actions, made ready for the device: fetched
 * (`from: git` — a local repository or any reachable URL —, `from: url`, or
 * `from: inline`), parsed ("Lava-Test Test Definition 1.0"), and turned into the
 * `install.sh` and `run.sh` the runner executes, with the job's parameters.
 */
import { dirname, join } from "../../actors/path.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { InfrastructureError, JobError } from "../job/errors.ts";
import type { JobLog } from "../job/log.ts";
import { download, type DownloadRequest } from "../drivers/download.ts";
import { isTarArchive, unpackTar } from "../drivers/archive.ts";
import {
  confinedLocalPath,
  fileNameInside,
  hasControlCharacters,
  realPathInside,
  resolveInside,
  writeInside,
} from "../job/paths.ts";
import { pythonRegex } from "./python_regex.ts";

export interface TestDefinitionRef {
  readonly name: string;
  readonly from: "git" | "url" | "inline";
  readonly path: string;
  readonly repository: unknown;
  readonly branch?: string;
  readonly revision?: string;
  readonly history?: boolean;
  /** `from: git`: also clone its submodules. */
  readonly recursive?: boolean;
  /** `from: url`: how the file is compressed, and the leading directories its tar archive drops. */
  readonly compression?: string;
  readonly stripComponents?: number;
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
    ...(raw.recursive === true ? { recursive: true } : {}),
    ...(typeof raw.compression === "string" ? { compression: raw.compression } : {}),
    ...(typeof raw["strip-components"] === "number" ? { stripComponents: raw["strip-components"] } : {}),
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

/** The largest single test definition file, and the largest tar archive of tests (the overlay's own bound). */
const MAX_TEST_DEFINITION_BYTES = 2 ** 20;
const MAX_TEST_ARCHIVE_BYTES = 256 * 2 ** 20;

/** The only transports git may use for the clone: never `ext::`. */
const GIT_PROTOCOLS = "http:https:git:ssh:file";
/** What a repository's submodules may be fetched over: not `file`, which would reach the worker's own repositories. */
const SUBMODULE_PROTOCOLS = "http:https:git:ssh";

async function run(
  command: string,
  args: string[],
  cwd?: string,
  signal?: AbortSignal,
  protocols = GIT_PROTOCOLS,
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal,
    env: { GIT_ALLOW_PROTOCOL: protocols, GIT_TERMINAL_PROMPT: "0" },
  }).output();
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

/**
 * The repository argument for `git clone`, or the job's error naming `what`:
 * an http(s)://, git:// or ssh:// URL, `user@host:path`, or a local repository
 * (a path or file:// URL) inside the directories the worker allows. Nothing
 * that git could read as an option, and no `ext::` or other transport.
 */
export async function gitRepositoryArgument(
  repository: string,
  fileDirs: readonly string[],
  what: string,
): Promise<string> {
  if (repository.startsWith("-") || hasControlCharacters(repository)) {
    throw new JobError(`${what}: ${JSON.stringify(repository)} is not a repository URL`);
  }
  if (/^(https?|git|ssh|git\+ssh|ssh\+git):\/\/[^-/]/i.test(repository)) return repository;
  if (/^[A-Za-z0-9._][A-Za-z0-9._-]*@[A-Za-z0-9.][A-Za-z0-9.-]*:[^:]/.test(repository)) return repository;
  if (repository.startsWith("file://") || repository.startsWith("/")) {
    let path = repository;
    if (repository.startsWith("file://")) {
      try {
        path = decodeURIComponent(new URL(repository).pathname);
      } catch {
        throw new JobError(`${what}: ${repository} is not a valid file:// URL`);
      }
    }
    return await confinedLocalPath(path, fileDirs, what);
  }
  throw new JobError(
    `${what}: ${JSON.stringify(repository)} is not an http(s)://, git:// or ssh:// URL, user@host:path, ` +
      `or a local repository in the allowed directories (${fileDirs.join(", ") || "none"})`,
  );
}

/** What fetching a test definition needs to know about the action it belongs to. */
export interface FetchOptions {
  /** The action fetching it (`git-repo-action`...), named in errors with the field. */
  readonly action: string;
  /** Directories local repositories and `file://` URLs may be read from. */
  readonly fileDirs: readonly string[];
  readonly signal?: AbortSignal;
}

/** Fetches a definition's repository into `dir` (which becomes the test's directory). */
async function fetchRepository(
  ref: TestDefinitionRef,
  dir: string,
  log: JobLog,
  options: FetchOptions,
): Promise<{ testdef: string; revision?: string; repository: string }> {
  const what = (field: string) => `${options.action} ${field}`;
  if (ref.from === "inline") {
    const text = JSON.stringify(ref.repository);
    await writeInside(dir, "inline-testdef.json", text, what("repository"));
    return { testdef: text, repository: "inline" };
  }
  const repository = String(ref.repository);
  if (ref.from === "git") {
    const source = await gitRepositoryArgument(repository, options.fileDirs, what("repository"));
    for (const [field, value] of [["branch", ref.branch], ["revision", ref.revision]] as const) {
      if (
        value !== undefined &&
        (value === "" || value.startsWith("-") || /\s/.test(value) || hasControlCharacters(value))
      ) {
        throw new JobError(`${what(field)}: ${JSON.stringify(value)} is not a git ${field}`);
      }
    }
    log.info(`Fetching tests from ${repository}${ref.branch ? ` (branch ${ref.branch})` : ""}`);
    let revision: string;
    try {
      await run(
        "git",
        ["clone", "--quiet", ...(ref.branch ? ["--branch", ref.branch] : []), "--", source, dir],
        undefined,
        options.signal,
      );
      if (ref.revision) await run("git", ["checkout", "--quiet", ref.revision, "--"], dir, options.signal);
      if (ref.recursive) {
        await run(
          "git",
          ["submodule", "update", "--init", "--recursive", "--quiet"],
          dir,
          options.signal,
          SUBMODULE_PROTOCOLS,
        );
      }
      revision = await run("git", ["rev-parse", "HEAD"], dir, options.signal);
      if (ref.history === false) await Deno.remove(join(dir, ".git"), { recursive: true });
    } catch (error) {
      if (error instanceof JobError || options.signal?.aborted) throw error;
      throw new InfrastructureError(
        `test definition ${ref.name}: cannot clone ${repository}: ${(error as Error).message}`,
      );
    }
    // The repository is the job's: its files may be symlinks to anywhere on the worker.
    const path = await realPathInside(dir, ref.path, what("path"));
    const testdef = await Deno.readTextFile(path).catch(() => {
      throw new JobError(`${what("path")}: ${ref.path} is not a file in ${repository}`);
    });
    return { testdef, revision, repository };
  }
  // from: url — a tar archive of tests (LAVA's way), unpacked, with the definition at `path`; or a
  // single definition file.
  log.info(`Fetching test definition ${ref.name} from ${repository}`);
  const target = resolveInside(dir, ref.path || "testdef.yaml", what("path"));
  if (target === dir) throw new JobError(`${what("path")}: ${JSON.stringify(ref.path)} names no file`);
  const downloaded = join(dir, ".lava-download");
  await download({
    url: repository,
    target: downloaded,
    what: what("repository"),
    fileDirs: options.fileDirs,
    maxBytes: MAX_TEST_ARCHIVE_BYTES,
    compression: (ref.compression ?? null) as DownloadRequest["compression"],
    signal: options.signal,
  });
  if (await isTarArchive(downloaded)) {
    log.info(
      `Untar tests from ${repository}${ref.stripComponents ? `, stripping ${ref.stripComponents} components` : ""}`,
    );
    await unpackTar(downloaded, dir, MAX_TEST_ARCHIVE_BYTES, what("repository"), ref.stripComponents ?? 0);
    await Deno.remove(downloaded);
    const path = await realPathInside(dir, ref.path, what("path"));
    const testdef = await Deno.readTextFile(path).catch(() => {
      throw new JobError(`${what("path")}: ${ref.path} is not a file in ${repository}`);
    });
    return { testdef, repository };
  }
  if ((await Deno.stat(downloaded)).size > MAX_TEST_DEFINITION_BYTES) {
    throw new JobError(
      `${what("repository")}: ${repository} is neither a tar archive nor a test definition of at most 1 MiB`,
    );
  }
  await Deno.mkdir(dirname(target), { recursive: true });
  await Deno.rename(downloaded, target);
  return { testdef: await Deno.readTextFile(target), repository };
}

/** Refuses a variable name the device's shell would run as a command (`X=1; reboot; Y`). */
export function checkShellNames(values: Readonly<Record<string, unknown>>, what: string): void {
  for (const name of Object.keys(values)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new JobError(`${what}: ${JSON.stringify(name)} is not a shell variable name`);
    }
  }
}

function steps(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s) => s !== null && s !== undefined).map(String) : [];
}

/**
 * install.sh as LAVA writes it: the keys, the sources, the packages (`deps`, and
 * `deps-<os>` for the deploy's os) through the distribution's helpers, then the
 * steps run from the test's directory on the device; each part skipped as
 * `skip_install` says.
 */
function installScript(
  install: Record<string, unknown>,
  skip: ReadonlySet<string>,
  os: string | undefined,
  deviceDir: string,
): string[] {
  if (skip.has("all")) return [];
  const lines: string[] = [];
  if (!skip.has("keys")) lines.push(...steps(install.keys).map((key) => `lava-add-keys ${shellQuote(key)}`));
  if (!skip.has("sources")) {
    lines.push(...steps(install.sources).map((source) => `lava-add-sources ${shellQuote(source)}`));
  }
  if (!skip.has("deps")) {
    const deps = [...steps(install.deps), ...(os ? steps(install[`deps-${os}`]) : [])];
    if (deps.length > 0) lines.push(`lava-install-packages ${deps.map(shellQuote).join(" ")}`);
  }
  const commands = skip.has("steps") ? [] : steps(install.steps);
  if (commands.length > 0) lines.push(`cd ${shellQuote(deviceDir)}`, "pwd", ...commands);
  return lines;
}

/**
 * install's `git-repos`, cloned by the dispatcher into the test's directory as
 * LAVA clones them: a URL (into its last name, `.git` dropped) or `{url, branch,
 * destination}`, where each value may name a parameter of the test definition or
 * of the job. A destination is one plain name inside the directory.
 */
async function cloneInstallRepos(
  repos: unknown,
  dir: string,
  values: Readonly<Record<string, unknown>>,
  what: (field: string) => string,
  options: FetchOptions,
  log: JobLog,
): Promise<void> {
  const lookup = (value: unknown) =>
    typeof value === "string" && Object.hasOwn(values, value) ? String(values[value]) : value;
  for (const [i, repo] of (Array.isArray(repos) ? repos : []).entries()) {
    const field = what(`install.git-repos[${i}]`);
    const spec = typeof repo === "string" ? { url: repo } : isMapping(repo) ? repo : undefined;
    const url = spec ? lookup(spec.url) : undefined;
    if (typeof url !== "string" || url === "") throw new JobError(`${field}: needs a repository url`);
    const branch = spec?.branch === undefined ? undefined : String(lookup(spec.branch));
    if (branch !== undefined && (branch === "" || branch.startsWith("-") || /\s/.test(branch))) {
      throw new JobError(`${field}.branch: ${JSON.stringify(branch)} is not a git branch`);
    }
    const name = spec?.destination === undefined
      ? url.replace(/\/+$/, "").split(/[/:]/).pop()!.replace(/\.git$/, "")
      : String(lookup(spec.destination));
    const destination = fileNameInside(dir, name, `${field}.destination`);
    if (await Deno.stat(destination).then(() => true, () => false)) {
      throw new JobError(`${field}: ${name} is already in the test's directory`);
    }
    const source = await gitRepositoryArgument(url, options.fileDirs, `${field}.url`);
    log.info(`Cloning ${url}${branch ? ` (branch ${branch})` : ""} into ${name}`);
    try {
      await run(
        "git",
        ["clone", "--quiet", ...(branch ? ["--branch", branch] : []), "--", source, destination],
        undefined,
        options.signal,
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new InfrastructureError(`${field}: cannot clone ${url}: ${(error as Error).message}`);
    }
  }
}

export interface PrepareOptions {
  readonly index: number;
  readonly dir: string;
  /** The directory the test has on the device. */
  readonly deviceDir: string;
  readonly os?: string;
  readonly log: JobLog;
  readonly fetch: FetchOptions;
}

/** Fetches and generates one test into `options.dir`. */
export async function prepareTest(ref: TestDefinitionRef, options: PrepareOptions): Promise<PreparedTest> {
  const runId = `${options.index}_${ref.name}`;
  const what = (field: string) => `${options.fetch.action} ${field}`;
  checkShellNames(ref.parameters ?? {}, what("parameters"));
  await Deno.mkdir(options.dir, { recursive: true });
  const fetched = await fetchRepository(ref, options.dir, options.log, options.fetch);
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
  const parse = isMapping(testdef.parse) && typeof testdef.parse.pattern === "string"
    ? {
      pattern: testdef.parse.pattern,
      fixupdict: isMapping(testdef.parse.fixupdict)
        ? Object.fromEntries(Object.entries(testdef.parse.fixupdict).map(([k, v]) => [k, String(v)]))
        : {},
    }
    : undefined;
  if (parse) {
    try {
      pythonRegex(parse.pattern);
    } catch (error) {
      throw new JobError(`${what("parse.pattern")} of test definition ${ref.name}: ${(error as Error).message}`);
    }
  }
  const defaults = isMapping(testdef.params) ? testdef.params : isMapping(testdef.parameters) ? testdef.parameters : {};
  checkShellNames(defaults, `${what("params")} of test definition ${ref.name}`);
  // The directory may be a clone of the job's repository: these names may be symlinks to anywhere.
  const write = (name: string, text: string) => writeInside(options.dir, name, text, what("path"));
  const uuid = crypto.randomUUID();
  await write("uuid", `${uuid}\n`);
  await write("testdef.yaml", fetched.testdef);

  const install = isMapping(testdef.install) ? testdef.install : {};
  const skip = new Set(ref.skipInstall ?? []);
  const installLines = installScript(install, skip, options.os, options.deviceDir);
  if (!skip.has("all") && !skip.has("git-repos")) {
    await cloneInstallRepos(
      install["git-repos"],
      options.dir,
      { ...defaults, ...ref.parameters },
      what,
      options.fetch,
      options.log,
    );
  }
  if (installLines.length > 0) {
    await write("install.sh", ["#!/bin/sh", "set -e", ...installLines, ""].join("\n"));
  }

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
  await write("run.sh", script.join("\n"));
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
