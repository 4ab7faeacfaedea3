/**
 * Job validation and device-dictionary rendering throughput on one core.
 * Targets: more than 2,000 jobs/s validated and 500 dictionaries/s rendered; every
 * device-type template of Debian's lava-server 2023.01 rendered, from cold, in
 * under 2 s in one process.
 *
 *   deno task bench validate
 */
import { validateJob } from "../actors/definitions/job_schema.ts";
import { renderDevice } from "../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../master/devices/jinja.ts";
import { exampleFiles, LAVA_EXAMPLES } from "../tests/support/lava_examples.ts";
import { type CorpusCase, corpusCases, corpusTemplates } from "../tests/support/template_corpus.ts";

export interface ValidateBenchResult {
  jobsPerSecond: number;
  /** Every render with a new job context: no parse is reused. */
  rendersPerSecond: number;
  /** The same contexts again and again, as a lab's repeated jobs are. */
  repeatedRendersPerSecond: number;
  jobs: number;
  renders: number;
  /** The template corpus (tests/support/template_corpus.ts), or why it could not be measured. */
  corpus: CorpusBenchResult | { missing: string };
}

export interface CorpusBenchResult {
  /** Every Debian template, each extended by a typical dictionary, rendered once in a new environment. */
  debianTemplates: number;
  coldMilliseconds: number;
  /** Every case of the corpus (templates × dictionaries × contexts), templates compiled. */
  cases: number;
  rendersPerSecond: number;
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
    corpus: runCorpusBench(),
  };
}

function runCorpusBench(): CorpusBenchResult | { missing: string } {
  let cases: CorpusCase[];
  try {
    cases = corpusCases(corpusTemplates());
  } catch (error) {
    return { missing: (error as Error).message };
  }
  const render = (envs: Map<string, ReturnType<typeof jinjaEnvironment>>, c: CorpusCase) => {
    const key = JSON.stringify(c.template.paths);
    let env = envs.get(key);
    if (!env) envs.set(key, env = jinjaEnvironment(c.template.paths));
    try {
      env.renderString(c.dictionary, c.context, `${c.dictionaryName}.jinja2`);
    } catch {
      // A few templates fail in LAVA too (tests/template_corpus_test.ts): a failure costs the same.
    }
  };
  const debian = cases.filter((c) =>
    c.template.lava === "2023.01" && c.dictionaryName === "typical" &&
    c.contextName === "arm64"
  );
  const start = performance.now();
  const cold = new Map<string, ReturnType<typeof jinjaEnvironment>>();
  for (const c of debian) render(cold, c);
  const coldMilliseconds = Math.round(performance.now() - start);
  const warm = new Map<string, ReturnType<typeof jinjaEnvironment>>();
  let i = 0;
  const rendering = rate(3, () => render(warm, cases[i++ % cases.length]));
  return {
    debianTemplates: debian.length,
    coldMilliseconds,
    cases: cases.length,
    rendersPerSecond: rendering.perSecond,
  };
}

export function formatValidateBench(r: ValidateBenchResult): string {
  return [
    `job validation:     ${r.jobsPerSecond} jobs/s (${r.jobs} LAVA example jobs, parse + schema + cross-checks)`,
    `device rendering:   ${r.rendersPerSecond} renders/s (${r.renders} LAVA example dictionaries, render + YAML + device schema, every context new)`,
    `repeated contexts:  ${r.repeatedRendersPerSecond} renders/s (same text as an earlier render: its parse is reused)`,
    "missing" in r.corpus
      ? `template corpus:    not measured: ${r.corpus.missing}`
      : `template corpus:    ${r.corpus.debianTemplates} Debian lava-server 2023.01 templates rendered from cold in ${r.corpus.coldMilliseconds} ms; ${r.corpus.rendersPerSecond} renders/s over all ${r.corpus.cases} corpus cases (templates compiled, render only)`,
    `targets: > 2000 jobs/s: ${r.jobsPerSecond > 2000 ? "met" : "NOT met"}; > 500 renders/s: ${
      r.rendersPerSecond > 500 ? "met" : "NOT met"
    }; Debian templates < 2 s: ${
      "missing" in r.corpus ? "not measured" : r.corpus.coldMilliseconds < 2000 ? "met" : "NOT met"
    }`,
  ].join("\n");
}

if (import.meta.main) console.log(formatValidateBench(runValidateBench()));
