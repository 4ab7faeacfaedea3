/**
 * A fault scenario, as written in tests/faults/scenarios/*.yaml:
 *
 *     name: worker killed mid-test
 *     job: { kind: qemu-ticks, ticks: 40 }
 *     fault: { do: kill-worker, at: { log: "tick-5" }, restart_after_ms: 1000 }
 *     expect: { health: Complete, device_health: Good, lines: complete }
 *
 * Read with positions, so a mistake names the file, line and field.
 */
import { formatPath, loadYaml, positionOf } from "../../actors/definitions/yaml.ts";

export const FAULTS = [
  "none",
  "kill-master",
  "kill-worker",
  "kill-dispatch",
  "kill-coordinator",
  "stop-worker",
  "cut-zmq",
  "restart-postgres",
  "ser2net-restart",
  "device-hang",
  "board-garbage",
  "board-hang",
  "board-panic",
  "power-fail",
  "download-stall",
  "download-corrupt",
  "disk-full",
  "nfs-restart",
  "firmware-silent",
  "tftp-gone",
] as const;
export type FaultName = (typeof FAULTS)[number];

export const JOB_KINDS = ["qemu-ticks", "board-ticks", "multinode", "download", "uboot-ramdisk", "uboot-nfs"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export type Trigger =
  | { readonly log: string }
  | { readonly action: string }
  | { readonly lines: number }
  | { readonly random_ms: readonly [number, number]; readonly seed: number }
  | { readonly submit: true };

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly database: "pglite" | "postgres";
  /** How many workers the lab has (QEMU device N on worker N). */
  readonly workers: number;
  readonly job: {
    readonly kind: JobKind;
    readonly ticks: number;
    readonly failure_retry: number;
    readonly test_seconds: number;
    readonly boot_seconds: number;
  };
  readonly fault: {
    readonly do: FaultName;
    readonly at: Trigger;
    /** For kill faults: start the process again after this long (none: leave it dead). */
    readonly restart_after_ms?: number;
    /** For stop, cut and hang faults: how long. */
    readonly duration_ms: number;
  };
  readonly expect: {
    readonly health: "Complete" | "Incomplete" | "Canceled";
    readonly error_type?: string | null;
    /** A pattern the job's error message must match: the fault ended it, not something else on the way. */
    readonly error_msg?: string;
    readonly device_health: string;
    /** complete: every tick once, in order; any: not checked (the fault may lose lines by design). */
    readonly lines: "complete" | "any";
    /**
     * A second job submitted while the killed process is down must end so before
     * it is restarted: the lab goes on scheduling around the fault.
     */
    readonly meanwhile?: "Complete" | "Incomplete";
  };
}

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScenarioError";
  }
}

type Raw = Record<string, unknown>;

export function parseScenario(file: string, text: string): Scenario {
  const loaded = loadYaml(text);
  const fail = (path: (string | number)[], message: string): never => {
    const at = positionOf(loaded, path);
    throw new ScenarioError(`${file}:${at.line}:${at.column}: ${formatPath(path)}: ${message}`);
  };
  if (loaded.errors.length > 0) {
    throw new ScenarioError(`${file}:${loaded.errors[0].line}:${loaded.errors[0].column}: ${loaded.errors[0].message}`);
  }
  const root = loaded.value as Raw;
  if (typeof root !== "object" || root === null) fail([], "a scenario is a mapping");
  const map = (value: unknown, path: (string | number)[]): Raw =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Raw
      : fail(path, "must be a mapping");
  const oneOf = <T extends string>(value: unknown, options: readonly T[], path: (string | number)[]): T =>
    options.includes(value as T)
      ? value as T
      : fail(path, `must be one of ${options.join(", ")}, not ${JSON.stringify(value)}`);
  const number = (value: unknown, path: (string | number)[], fallback?: number): number => {
    if (value === undefined && fallback !== undefined) return fallback;
    return typeof value === "number" && Number.isFinite(value) && value >= 0
      ? value
      : fail(path, "must be a number ≥ 0");
  };
  // A misspelt key would otherwise be a silently ignored expectation.
  const only = (value: Raw, keys: readonly string[], path: (string | number)[]) => {
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) fail([...path, key], `unknown field; expected one of ${keys.join(", ")}`);
    }
  };
  if (typeof root.name !== "string" || !root.name) fail(["name"], "a scenario needs a name");
  only(root, ["name", "database", "workers", "job", "fault", "expect"], []);
  const job = map(root.job, ["job"]);
  only(job, ["kind", "ticks", "failure_retry", "test_seconds", "boot_seconds"], ["job"]);
  const fault = map(root.fault, ["fault"]);
  only(fault, ["do", "at", "restart_after_ms", "duration_ms"], ["fault"]);
  const expect = map(root.expect, ["expect"]);
  only(expect, ["health", "error_type", "error_msg", "device_health", "lines", "meanwhile"], ["expect"]);
  if (expect.error_msg !== undefined) {
    try {
      new RegExp(String(expect.error_msg));
    } catch (error) {
      fail(["expect", "error_msg"], `not a regular expression: ${(error as Error).message}`);
    }
  }
  const at = map(fault.at, ["fault", "at"]);
  only(at, ["log", "action", "lines", "submit", "random_ms", "seed"], ["fault", "at"]);
  const meanwhile = expect.meanwhile === undefined
    ? undefined
    : oneOf(expect.meanwhile, ["Complete", "Incomplete"] as const, ["expect", "meanwhile"]);
  if (
    meanwhile !== undefined &&
    (fault.restart_after_ms === undefined || !["kill-worker", "kill-coordinator"].includes(String(fault.do)))
  ) {
    fail(
      ["expect", "meanwhile"],
      "needs kill-worker or kill-coordinator with restart_after_ms: the second job runs while it is down",
    );
  }
  // Faults of the real-firmware board's own parts need that board.
  if (fault.do === "nfs-restart" && job.kind !== "uboot-nfs") {
    fail(["fault", "do"], "nfs-restart needs job kind uboot-nfs");
  }
  if ((fault.do === "firmware-silent" || fault.do === "tftp-gone") && !String(job.kind).startsWith("uboot-")) {
    fail(["fault", "do"], `${fault.do} needs a uboot-ramdisk or uboot-nfs job`);
  }
  const workers = number(root.workers, ["workers"], 1);
  if (workers < 1 || workers > 2 || !Number.isInteger(workers)) fail(["workers"], "must be 1 or 2");
  let trigger: Trigger;
  if (typeof at.log === "string") trigger = { log: at.log };
  else if (typeof at.action === "string") trigger = { action: at.action };
  else if (at.lines !== undefined) trigger = { lines: number(at.lines, ["fault", "at", "lines"]) };
  else if (at.submit === true) trigger = { submit: true };
  else if (Array.isArray(at.random_ms) && at.random_ms.length === 2) {
    trigger = {
      random_ms: [
        number(at.random_ms[0], ["fault", "at", "random_ms", 0]),
        number(at.random_ms[1], ["fault", "at", "random_ms", 1]),
      ],
      seed: number(at.seed, ["fault", "at", "seed"]),
    };
  } else fail(["fault", "at"], "give one of log, action, lines, random_ms (with seed) or submit: true");
  return {
    file,
    name: root.name as string,
    database: oneOf(root.database ?? "pglite", ["pglite", "postgres"] as const, ["database"]),
    workers,
    job: {
      kind: oneOf(job.kind, JOB_KINDS, ["job", "kind"]),
      ticks: number(job.ticks, ["job", "ticks"], 30),
      failure_retry: number(job.failure_retry, ["job", "failure_retry"], 1),
      test_seconds: number(job.test_seconds, ["job", "test_seconds"], 120),
      boot_seconds: number(job.boot_seconds, ["job", "boot_seconds"], 90),
    },
    fault: {
      do: oneOf(fault.do, FAULTS, ["fault", "do"]),
      at: trigger!,
      restart_after_ms: fault.restart_after_ms === undefined
        ? undefined
        : number(fault.restart_after_ms, ["fault", "restart_after_ms"]),
      duration_ms: number(fault.duration_ms, ["fault", "duration_ms"], 3000),
    },
    expect: {
      health: oneOf(expect.health, ["Complete", "Incomplete", "Canceled"] as const, ["expect", "health"]),
      error_type: expect.error_type === undefined ? undefined : expect.error_type as string | null,
      ...(typeof expect.error_msg === "string" ? { error_msg: expect.error_msg } : {}),
      device_health: typeof expect.device_health === "string" ? expect.device_health : "Good",
      lines: oneOf(expect.lines ?? "complete", ["complete", "any"] as const, ["expect", "lines"]),
      ...(meanwhile ? { meanwhile } : {}),
    },
  };
}
