/** A job's results as its results page shows them: every test case, and each suite's counts. */
import type { Lab } from "../lab/lab.ts";
import { exportCases, suiteSummary } from "../lab/results.ts";

export async function jobResults(lab: Lab, id: number) {
  const [cases, suites] = await Promise.all([exportCases(lab.db, id), suiteSummary(lab.db, id)]);
  return { cases, suites };
}
