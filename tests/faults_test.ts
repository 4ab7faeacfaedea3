/**
 * Every fault scenario in tests/faults/scenarios/, each against its own real lab
 * (see tests/faults/run.ts), and the outcome table at the end.
 */
import { loadScenarios } from "./faults/main.ts";
import { type Outcome, outcomeTable, runScenario } from "./faults/run.ts";

const outcomes: Outcome[] = [];
const scenarios = loadScenarios();

/** Why a scenario cannot run on this machine, if it cannot. */
function cannotRun(scenario: (typeof scenarios)[number]): string | undefined {
  // The worker's disk that fills is a tmpfs, and mounting one needs root.
  if (scenario.fault.do === "disk-full" && Deno.uid() !== 0) return "mounting the full disk's tmpfs needs root";
}

const runnable = scenarios.filter((s) => cannotRun(s) === undefined).length;
for (const scenario of scenarios) {
  const skipped = cannotRun(scenario);
  Deno.test({
    name: `fault scenario: ${scenario.name}${skipped ? ` [skipped: ${skipped}]` : ""}`,
    ignore: skipped !== undefined,
  }, async () => {
    const outcome = await runScenario(scenario);
    outcomes.push(outcome);
    if (outcomes.length === runnable) console.log(`\n${outcomeTable(outcomes)}`);
    if (outcome.problems.length > 0) throw new Error(`${scenario.name}: ${outcome.problems.join("; ")}`);
  });
}
