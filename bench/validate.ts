/**
 * Job validation and device-dictionary rendering throughput on one core.
 * Targets: more than 2,000 jobs/s validated and 500 dictionaries/s rendered.
 *
 *   deno task bench validate
 */
import { validateJob } from "../actors/definitions/job_schema.ts";
import { renderDevice } from "../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../master/devices/jinja.ts";
import { exampleFiles, LAVA_EXAMPLES } from "../tests/support/lava_examples.ts";

export interface ValidateBenchResult {
  jobsPerSecond: number;
  /** Every render with a new job context: no parse is reused. */
  rendersPerSecond: number;
  /** The same contexts again and again, as a lab's repeated jobs are. */
  repeatedRendersPerSecond: number;
  jobs: number;
  renders: number;
}

function rate(seconds: number, fn: () => void): { count: number; perSecond: number } {
  // Warm up the JIT, then count whole runs within the time budget.
  for (let i = 0; i < 50; i++) fn();
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    fn();
    count++;
  }
  return { count, perSecond: Math.round(count / ((performance.now() - start) / 1000)) };
}

export function runValidateBench(): ValidateBenchResult {
  const jobs = exampleFiles("jobs").map(([, , text]) => text);
  let j = 0;
  const validation = rate(3, () => {
    const result = validateJob(jobs[j++ % jobs.length]);
    if (!result.valid) throw new Error("an example job did not validate");
  });
  const env = jinjaEnvironment([`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`]);
  const dictionaries = exampleFiles("device-dicts", ".jinja2").map(([name, , text]) => ({ name, text }));
  let d = 0;
  const renderWith = (context: Record<string, unknown>, unique: boolean) => {
    const { name, text } = dictionaries[d++ % dictionaries.length];
    // Every template prints the hostname, so a new one makes the whole text new.
    const hostname = unique ? `${name}-${d}` : name;
    const rendered = renderDevice(env, { dictionary: text, name, hostname, deviceType: "t", context });
    if (rendered.errors.length > 0) throw new Error(`${name} did not render to a valid device`);
  };
  const rendering = rate(3, () => renderWith({ arch: "amd64" }, true));
  const repeated = rate(3, () => renderWith({ arch: "amd64" }, false));
  return {
    jobsPerSecond: validation.perSecond,
    rendersPerSecond: rendering.perSecond,
    repeatedRendersPerSecond: repeated.perSecond,
    jobs: validation.count,
    renders: rendering.count,
  };
}

export function formatValidateBench(r: ValidateBenchResult): string {
  return [
    `job validation:     ${r.jobsPerSecond} jobs/s (${r.jobs} LAVA example jobs, parse + schema + cross-checks)`,
    `device rendering:   ${r.rendersPerSecond} renders/s (${r.renders} LAVA example dictionaries, render + YAML + device schema, every context new)`,
    `repeated contexts:  ${r.repeatedRendersPerSecond} renders/s (same text as an earlier render: its parse is reused)`,
    `targets: > 2000 jobs/s: ${r.jobsPerSecond > 2000 ? "met" : "NOT met"}; > 500 renders/s: ${
      r.rendersPerSecond > 500 ? "met" : "NOT met"
    }`,
  ].join("\n");
}

if (import.meta.main) console.log(formatValidateBench(runValidateBench()));
