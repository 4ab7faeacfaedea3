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
 *   <LAVA_SIGNAL_ENDRUN 0_smoke 5f0c...>           the run passed
 *   <LAVA_TEST_RUNNER EXIT> / <LAVA_TEST_RUNNER INSTALL_FAIL>
 */
import { TestError } from "./errors.ts";
import type { JobLog } from "./log.ts";

export const SIGNAL = /<LAVA_SIGNAL_(\S+) ([^>]+)>/;
export const RUNNER_EXIT = "<LAVA_TEST_RUNNER EXIT>";
export const RUNNER_INSTALL_FAIL = "<LAVA_TEST_RUNNER INSTALL_FAIL>";

const RESULTS = ["pass", "fail", "skip", "unknown"];

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

  /** Handles one signal; `line` is the log line it was printed on. */
  handle(name: string, body: string, line: number): void {
    const words = body.trim().split(/\s+/);
    switch (name) {
      case "STARTRUN": {
        const [runId, uuid] = words;
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
        this.#caseStart.set(body.trim(), line);
        return;
      case "ENDTC": {
        const id = body.trim();
        this.#caseRange.set(id, [this.#caseStart.get(id) ?? line, line]);
        return;
      }
      case "TESTCASE":
        return this.#testCase(body, line);
      case "TESTSET": {
        const [action, ...rest] = words;
        this.#set = action.toUpperCase() === "START" ? rest.join(" ") : undefined;
        return;
      }
      case "TESTREFERENCE": {
        const [id, result, reference] = words;
        this.#result({
          definition: this.currentRun ?? "lava",
          case: id,
          result: RESULTS.includes(result) ? result : "unknown",
          reference,
        });
        return;
      }
      case "TESTRAISE":
        throw new TestError(body.trim());
      case "TESTEVENT":
        this.log.write("event", body.trim());
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
    const measurement = fields.MEASUREMENT;
    this.#result({
      definition: this.currentRun ?? "lava",
      case: id.replaceAll("/", "_"),
      result,
      ...(measurement !== undefined && measurement !== "" && Number.isFinite(Number(measurement))
        ? { measurement: Number(measurement) }
        : {}),
      ...(fields.UNITS ? { units: fields.UNITS } : {}),
      ...(this.#set ? { set: this.#set } : {}),
      ...(range ? { starttc: range[0], endtc: range[1] } : {}),
      ...(raw !== result ? { error_msg: `unknown result "${fields.RESULT}" reported as unknown` } : {}),
    });
    void line;
  }

  #result(result: Record<string, unknown>): void {
    this.log.results(this.namespace ? { ...result, namespace: this.namespace } : result);
  }
}
