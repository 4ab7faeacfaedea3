/**
 * The test overlay: everything the device needs to run a job's tests, laid out
 * as LAVA lays it out under `/lava-<job>` — the helpers in `bin/`, the
 * `environment`, the `secrets`, and per test action ("stage") the tests and the
 * runner's list of them:
 *
 *   /lava-42/bin/lava-test-runner ...
 *   /lava-42/environment
 *   /lava-42/0/lava-test-runner.conf
 *   /lava-42/0/tests/0_smoke-tests/{uuid, testdef.yaml, install.sh, run.sh, ...}
 *
 * Built step by step, as the deploy's overlay actions run.
 */
import { join } from "../../actors/path.ts";
import type { JobLog } from "../job/log.ts";
import { fileNameInside, resolveInside } from "../job/paths.ts";
import { JobError } from "../job/errors.ts";
import { DEVICE_SCRIPTS } from "./scripts.ts";
import { systemHelpers } from "./system_helpers.ts";
import {
  checkShellNames,
  type FetchOptions,
  type PreparedTest,
  prepareTest,
  shellQuote,
  type TestDefinitionRef,
} from "./testdefs.ts";

/**
 * The device path of the overlay, `lava_test_results_dir` with the job's id:
 * an absolute path of plain names (it is also used in the device's shell), or
 * the job's error naming the field.
 */
export function overlayDevicePath(pattern: string, jobId: string): string {
  const path = pattern.replace("%s", jobId);
  const what = "lava-overlay constants.posix.lava_test_results_dir";
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new JobError(
      `${what}: ${JSON.stringify(pattern)} must be an absolute path of letters, digits, '.', '_', '-'`,
    );
  }
  return path;
}

export class OverlayBuilder {
  /** Local directory whose contents go to the device's `/`. */
  readonly root: string;
  /** Local path of the device's `/lava-<job>`. */
  readonly dir: string;
  readonly stages = new Map<number, PreparedTest[]>();

  constructor(
    workDir: string,
    /** `/lava-42`: where the overlay is on the device. */
    readonly deviceRoot: string,
    private readonly log: JobLog,
  ) {
    this.root = join(workDir, "overlay");
    this.dir = resolveInside(this.root, deviceRoot, "lava-overlay constants.posix.lava_test_results_dir", {
      rooted: true,
    });
  }

  /** The helpers (the system ones for the deploy's `os`), the environment and the secrets. */
  async start(
    environment: Readonly<Record<string, string>>,
    secrets: Readonly<Record<string, string>>,
    os?: string,
  ): Promise<void> {
    await Deno.mkdir(join(this.dir, "bin"), { recursive: true });
    for (const [name, text] of Object.entries({ ...DEVICE_SCRIPTS, ...systemHelpers(os) })) {
      const path = join(this.dir, "bin", name);
      await Deno.writeTextFile(path, text);
      await Deno.chmod(path, 0o755);
    }
    const env = { LAVA_RESULT_DIR: `${this.deviceRoot}/results`, ...environment };
    checkShellNames(env, "lava-overlay environment");
    checkShellNames(secrets, "lava-overlay secrets");
    await Deno.writeTextFile(
      join(this.dir, "environment"),
      Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`).join("\n") + "\n",
    );
    await Deno.writeTextFile(
      join(this.dir, "secrets"),
      Object.entries(secrets).map(([k, v]) => `${k}=${shellQuote(v)}`).join("\n") + "\n",
    );
    await Deno.chmod(join(this.dir, "secrets"), 0o600);
  }

  /** Fetches and generates test `index` of test action `stage`. */
  async addTest(
    stage: number,
    index: number,
    ref: TestDefinitionRef,
    os: string | undefined,
    fetch: FetchOptions,
  ): Promise<PreparedTest> {
    const runId = `${index}_${ref.name}`;
    const deviceDir = `${this.deviceRoot}/${stage}/tests/${runId}`;
    const prepared = await prepareTest(ref, {
      index,
      dir: fileNameInside(join(this.dir, String(stage), "tests"), runId, `${fetch.action} name`),
      deviceDir,
      os,
      log: this.log,
      fetch,
    });
    const list = this.stages.get(stage) ?? [];
    list[index] = prepared;
    this.stages.set(stage, list);
    return prepared;
  }

  /** Writes each stage's runner list; call after every test was added. */
  async finish(): Promise<void> {
    for (const [stage, tests] of this.stages) {
      const conf = tests.filter(Boolean).map((t) => `${this.deviceRoot}/${stage}/tests/${t.runId}`);
      await Deno.mkdir(join(this.dir, String(stage)), { recursive: true });
      await Deno.writeTextFile(join(this.dir, String(stage), "lava-test-runner.conf"), conf.join("\n") + "\n");
    }
  }
}
