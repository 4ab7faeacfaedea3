/**
 * LAVA's test-shell signals, as the device prints them, turned into results:
 *
 *   <LAVA_SIGNAL_STARTRUN 0_smoke 5f0c...>          a test run begins
 *   <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass [UNITS=u] [MEASUREMENT=m]>
 *   <LAVA_SIGNAL_STARTTC x> ... <LAVA_SIGNAL_ENDTC x>   the log lines of case x
 *   <LAVA_SIGNAL_TESTSET START name> / <LAVA_SIGNAL_TESTSET STOP>
 *   <LAVA_SIGNAL_TESTREFERENCE id result url>
 *   <LAVA_SIGNAL_TESTRAISE message>                 stop the job (TestError)
 *   <LAVA_SIGNAL_TESTEVENT message>
 *   <LAVA_SIGNAL_TESTFEEDBACK namespace>            read another namespace's output
 *   <LAVA_SIGNAL_ENDRUN 0_smoke 5f0c...>           the run passed
 *   <LAVA_TEST_RUNNER EXIT> / <LAVA_TEST_RUNNER INSTALL_FAIL>
 */
import { TestError } from "../job/errors.ts";
import type { JobLog } from "../job/log.ts";

export const SIGNAL = /<LAVA_SIGNAL_(\S+) ([^>]+)>/;
export const RUNNER_EXIT = "<LAVA_TEST_RUNNER EXIT>";
export const RUNNER_INSTALL_FAIL = "<LAVA_TEST_RUNNER INSTALL_FAIL>";

const RESULTS = ["pass", "fail", "skip", "unknown"];

/** Longest test case name, set name or units kept (as LAVA's database keeps them). */
const MAX_NAME = 100;
/** Test cases opened with STARTTC and not yet closed that are remembered; older ones are forgotten. */
const MAX_OPEN_CASES = 10_000;
/** Measurements are decimal numbers below this magnitude (what the results store holds). */
const MAX_MEASUREMENT = 1e20;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * A name the device printed, made safe to store: control characters (NUL,
 * escapes) written as `\xNN`, cut at MAX_NAME. `problem` says what was changed.
 */
export function safeName(raw: string): { name: string; problem?: string } {
  const escaped = raw.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  const name = escaped.slice(0, MAX_NAME);
  const problems = [
    ...(escaped !== raw ? ["control characters escaped"] : []),
    ...(name !== escaped ? [`cut to ${MAX_NAME} characters`] : []),
  ];
  return problems.length ? { name, problem: `name ${problems.join(", ")}` } : { name };
}

export interface RunInfo {
  readonly runId: string;
  readonly repository?: string;
  readonly path?: string;
  readonly revision?: string;
  readonly expected?: readonly string[];
}

interface OpenRun {
  info: RunInfo;
  uuid: string;
  started: number;
  cases: Set<string>;
}

/** Turns signals into `results` log records, keeping the state a test stage needs. */
export class SignalInterpreter {
  #run: OpenRun | undefined;
  #set: string | undefined;
  #caseStart = new Map<string, number>();
  #caseRange = new Map<string, [number, number]>();
  readonly completedRuns: string[] = [];

  constructor(
    private readonly log: JobLog,
    private readonly runs: ReadonlyMap<string, RunInfo>,
    private readonly namespace?: string,
  ) {}

  /** The run in progress (its `<index>_<name>`), if any. */
  get currentRun(): string | undefined {
    return this.#run?.info.runId;
  }

  /** Test cases opened (STARTTC) and not closed yet. */
  get openCases(): number {
    return this.#caseStart.size;
  }

  /** Handles one signal; `line` is the log line it was printed on. */
  handle(name: string, body: string, line: number): void {
    const words = body.trim().split(/\s+/);
    switch (name) {
      case "STARTRUN": {
        const [runId, uuid] = words;
        if (!runId) return void this.log.warning(`STARTRUN without a test run id`);
        this.#run = {
          info: this.runs.get(runId) ?? { runId },
          uuid: uuid ?? "",
          started: performance.now(),
          cases: new Set(),
        };
        this.#set = undefined;
        this.log.info(`Starting test lava.${runId} (${uuid ?? ""})`);
        return;
      }
      case "ENDRUN": {
        const [runId, uuid] = words;
        if (!runId) return void this.log.warning(`ENDRUN without a test run id`);
        const run = this.#run?.info.runId === runId ? this.#run : undefined;
        const duration = run ? (performance.now() - run.started) / 1000 : 0;
        const info = run?.info ?? this.runs.get(runId) ?? { runId };
        this.#result({
          definition: "lava",
          case: runId,
          result: "pass",
          uuid: uuid ?? "",
          duration: duration.toFixed(2),
          ...(info.repository ? { repository: info.repository } : {}),
          ...(info.path ? { path: info.path } : {}),
          ...(info.revision ? { revision: info.revision, commit_id: info.revision } : {}),
        });
        for (const missing of (info.expected ?? []).filter((c) => !run?.cases.has(c))) {
          this.#result({
            definition: runId,
            case: missing,
            result: "fail",
            error_msg: "expected test case was not reported",
          });
        }
        this.completedRuns.push(runId);
        this.#run = undefined;
        this.log.info(`Ending use of test pattern.`);
        return;
      }
      case "STARTTC":
        // A device may open cases forever without closing them: forget the oldest.
        if (this.#caseStart.size >= MAX_OPEN_CASES) this.#caseStart.delete(this.#caseStart.keys().next().value!);
        this.#caseStart.set(body.trim(), line);
        return;
      case "ENDTC": {
        const id = body.trim();
        if (this.#caseRange.size >= MAX_OPEN_CASES) this.#caseRange.delete(this.#caseRange.keys().next().value!);
        this.#caseRange.set(id, [this.#caseStart.get(id) ?? line, line]);
        this.#caseStart.delete(id);
        return;
      }
      case "TESTCASE":
        return this.#testCase(body, line);
      case "TESTSET": {
        const [action, ...rest] = words;
        this.#set = action.toUpperCase() === "START" && rest.length ? safeName(rest.join(" ")).name : undefined;
        return;
      }
      case "TESTREFERENCE": {
        const [id, result, reference] = words;
        if (!id) return void this.log.warning(`TESTREFERENCE without a test case id`);
        const { name, problem } = safeName(id);
        this.#result({
          definition: this.currentRun ?? "lava",
          case: name,
          result: RESULTS.includes(result) ? result : "unknown",
          reference: reference === undefined ? undefined : safeName(reference).name,
          ...(problem ? { error_msg: problem } : {}),
        });
        return;
      }
      case "TESTRAISE":
        // The message becomes the job's error: printable, and no longer than a log line needs.
        throw new TestError(body.trim().replace(CONTROL, " ").slice(0, 1000));
      case "TESTEVENT":
        this.log.write("event", body.trim());
        return;
      case "TESTFEEDBACK":
        // Feedback comes from a second connection in another namespace; a Basalt job has one console.
        this.log.warning(`lava-test-feedback: no connection in namespace ${body.trim().slice(0, 100)} to read from`);
        return;
      default:
        this.log.debug(`unknown signal ${name} ${body}`);
    }
  }

  /** A test run that never reached ENDRUN (the test stopped early) fails. */
  closeOpenRun(): void {
    if (!this.#run) return;
    this.#result({
      definition: "lava",
      case: this.#run.info.runId,
      result: "fail",
      uuid: this.#run.uuid,
      error_msg: "the test run did not finish",
    });
    this.#run = undefined;
  }

  /** A result found by a test definition's parse pattern. */
  parsed(testCaseId: string, result: string, line: number, measurement?: string, units?: string): void {
    this.#testCase(
      `TEST_CASE_ID=${testCaseId} RESULT=${result}${units ? ` UNITS=${units}` : ""}${
        measurement ? ` MEASUREMENT=${measurement}` : ""
      }`,
      line,
    );
  }

  #testCase(body: string, line: number): void {
    const fields: Record<string, string> = {};
    for (const match of body.matchAll(/(\w+)=(\S+)/g)) fields[match[1].toUpperCase()] = match[2];
    const id = fields.TEST_CASE_ID;
    if (!id) return void this.log.warning(`test case without TEST_CASE_ID: ${body}`);
    const raw = (fields.RESULT ?? "").toLowerCase();
    const result = RESULTS.includes(raw) ? raw : "unknown";
    const range = this.#caseRange.get(id);
    this.#caseRange.delete(id);
    this.#run?.cases.add(id);
    const { name, problem } = safeName(id.replaceAll("/", "_"));
    const rawMeasurement = fields.MEASUREMENT;
    const measurement = rawMeasurement === undefined || rawMeasurement === "" ? undefined : Number(rawMeasurement);
    const badMeasurement = measurement !== undefined &&
      !(DECIMAL.test(rawMeasurement!) && Number.isFinite(measurement) && Math.abs(measurement) < MAX_MEASUREMENT);
    const problems = [
      ...(raw !== result ? [`unknown result "${safeName(fields.RESULT ?? "").name}" reported as unknown`] : []),
      ...(problem ? [problem] : []),
      ...(badMeasurement
        ? [`measurement ${safeName(rawMeasurement!).name} is not a decimal number below ${MAX_MEASUREMENT}`]
        : []),
    ];
    this.#result({
      definition: this.currentRun ?? "lava",
      case: name,
      result: badMeasurement ? "fail" : result,
      ...(measurement !== undefined && !badMeasurement ? { measurement } : {}),
      ...(fields.UNITS ? { units: safeName(fields.UNITS).name } : {}),
      ...(this.#set ? { set: this.#set } : {}),
      ...(range ? { starttc: range[0], endtc: range[1] } : {}),
      ...(problems.length ? { error_msg: problems.join("; ") } : {}),
    });
    void line;
  }

  #result(result: Record<string, unknown>): void {
    this.log.results(this.namespace ? { ...result, namespace: this.namespace } : result);
  }
}
