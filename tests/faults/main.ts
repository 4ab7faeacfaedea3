/**
 * `deno task faults [NAME-OR-FILE...] [--repeat N]`: runs fault scenarios from
 * tests/faults/scenarios/ against real labs and prints the outcome table
 * (scenario, fault, expected, observed, lines lost, lines repeated). Exits 1 when
 * any scenario did not end as expected.
 */
import { parseArgs } from "../../actors/cli/parse_args.ts";
import { join } from "../../actors/path.ts";
import { outcomeTable, runScenario } from "./run.ts";
import { parseScenario, type Scenario, ScenarioError } from "./scenario.ts";

export const SCENARIO_DIR = new URL("./scenarios/", import.meta.url).pathname;

export function loadScenarios(filter: readonly string[] = []): Scenario[] {
  const files = [...Deno.readDirSync(SCENARIO_DIR)].filter((e) => e.name.endsWith(".yaml")).map((e) => e.name).sort();
  return files
    .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
    .map((f) => parseScenario(join(SCENARIO_DIR, f), Deno.readTextFileSync(join(SCENARIO_DIR, f))));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { repeat: { type: "string", default: "1" } },
    allowPositionals: true,
  });
  let scenarios: Scenario[];
  try {
    scenarios = loadScenarios(positionals);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    console.error(`faults: ${error.message}`);
    Deno.exit(2);
  }
  let failed = 0;
  for (let round = 1; round <= Number(values.repeat); round++) {
    const outcomes = [];
    for (const scenario of scenarios) {
      const outcome = await runScenario(scenario);
      console.error(`${outcome.problems.length ? "FAIL" : "ok  "} ${scenario.name}`);
      outcomes.push(outcome);
    }
    console.log(`\nround ${round}\n${outcomeTable(outcomes)}`);
    failed += outcomes.filter((o) => o.problems.length > 0).length;
  }
  Deno.exit(failed > 0 ? 1 : 0);
}
