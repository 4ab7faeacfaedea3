/**
 * Every fault scenario in tests/faults/scenarios/, each against its own real lab
 * (see tests/faults/run.ts), and the outcome table at the end.
 */
import { loadScenarios } from "./faults/main.ts";
import { type Outcome, outcomeTable, runScenario } from "./faults/run.ts";

const outcomes: Outcome[] = [];
const scenarios = loadScenarios();

for (const [index, scenario] of scenarios.entries()) {
  Deno.test(`fault scenario: ${scenario.name}`, async () => {
    const outcome = await runScenario(scenario);
    outcomes.push(outcome);
    if (index === scenarios.length - 1) console.log(`\n${outcomeTable(outcomes)}`);
    if (outcome.problems.length > 0) throw new Error(`${scenario.name}: ${outcome.problems.join("; ")}`);
  });
}
