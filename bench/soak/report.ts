/**
 * What a soak measured (bench/soak.ts), how its figures are computed from the
 * samples, and the report it prints.
 */
import type { SoakOptions } from "../soak.ts";
import type { StandaloneRun } from "./standalone.ts";

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
}

export interface SoakResult {
  readonly options: SoakOptions;
  readonly submitted: number;
  readonly ended: Record<string, number>;
  readonly wallSeconds: number;
  readonly jobsPerMinute: number;
  readonly cpuSecondsPerJob: { readonly master: number; readonly workers: number; readonly dispatchers: number };
  /** Submission to the lab's own start_time of the job (same host, same clock). */
  readonly submitToRunningMs: Percentiles;
  /** Submission to the first event subscriber hearing it Running (its event's delivery included). */
  readonly submitToRunningHeardMs: Percentiles;
  readonly endToFinishedMs: Percentiles;
  readonly lineToFollowerMs: Percentiles;
  readonly rss: {
    readonly masterMiB: readonly number[];
    readonly workersMiB: readonly number[];
    readonly masterSlopeMiBPerHour: number;
    readonly workersSlopeMiBPerHour: number;
  };
  readonly dbBytesPerJob: number;
  readonly peakQueue: number;
  readonly passP99AtPeakMs: number;
  readonly lines: {
    readonly expected: number;
    readonly stored: number;
    readonly lost: number;
    readonly repeated: number;
  };
  /** Jobs whose outcome was not the one their kind calls for. */
  readonly wrongOutcomes: readonly string[];
  readonly standalone: readonly StandaloneRun[];
}

export const stats = (values: number[]): Percentiles => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))] ?? NaN;
  return { p50: at(50), p99: at(99), max: sorted.at(-1) ?? NaN, n: sorted.length };
};

/** Least-squares slope of samples taken every `intervalS` seconds, in units per hour. */
export function slopePerHour(samples: readonly number[], intervalS: number): number {
  if (samples.length < 3) return NaN;
  const n = samples.length;
  const xs = samples.map((_, i) => i * intervalS / 3600);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = samples.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (samples[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

export function formatSoak(r: SoakResult): string {
  const o = r.options;
  const ms = (p: Percentiles, target?: number) =>
    `p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, max ${p.max.toFixed(0)} ms (${p.n})${
      target === undefined ? "" : ` (target < ${target} ms: ${p.p99 < target ? "met" : "MISSED"})`
    }`;
  const cpu = r.cpuSecondsPerJob;
  const total = cpu.master + cpu.workers + cpu.dispatchers;
  const lines = [
    `${o.devices} devices, ${o.workers} workers, ${r.submitted} jobs at ${o.rate}/s on ${o.db} ` +
    `(${o.lines} lines a job, ${o.lineMs} ms apart; ${o.followers} log followers, ${o.subscribers} event subscribers)`,
    `  ended: ${JSON.stringify(r.ended)} in ${r.wallSeconds.toFixed(0)} s: ${r.jobsPerMinute.toFixed(0)} jobs/min`,
    `  CPU per job: master ${cpu.master.toFixed(3)} s, worker ${cpu.workers.toFixed(3)} s, dispatcher ${
      cpu.dispatchers.toFixed(3)
    } s; the lab's own ${total.toFixed(3)} s (target ≤ 0.25 s: ${total <= 0.25 ? "met" : "MISSED"})`,
    `  submit → Running (the job's start_time): ${ms(r.submitToRunningMs, 100)}`,
    `  submit → Running heard by an event subscriber: ${ms(r.submitToRunningHeardMs)}`,
    `  dispatch end → Finished: ${ms(r.endToFinishedMs)}`,
    `  device line → live log follower: ${ms(r.lineToFollowerMs, 250)}`,
    `  RSS: master ${r.rss.masterMiB.at(0)?.toFixed(0)} → ${r.rss.masterMiB.at(-1)?.toFixed(0)} MiB (slope ${
      r.rss.masterSlopeMiBPerHour.toFixed(1)
    } MiB/h after warm-up), worker ${r.rss.workersMiB.at(0)?.toFixed(0)} → ${
      r.rss.workersMiB.at(-1)?.toFixed(0)
    } MiB (${r.rss.workersSlopeMiBPerHour.toFixed(1)} MiB/h)`,
    `  database: ${(r.dbBytesPerJob / 1024).toFixed(1)} KiB per job; scheduling pass p99 ${
      r.passP99AtPeakMs.toFixed(1)
    } ms at the longest queue (${r.peakQueue})`,
    `  lines: ${r.lines.stored} stored of ${r.lines.expected} printed; ${r.lines.lost} lost, ${r.lines.repeated} repeated`,
    r.wrongOutcomes.length
      ? `  WRONG OUTCOMES: ${r.wrongOutcomes.slice(0, 10).join("; ")}`
      : "  every job ended as its kind calls for",
  ];
  for (const s of r.standalone) {
    lines.push(
      s.notMeasured
        ? `  ${s.name}: not measured (${s.notMeasured})`
        : `  ${s.name}, one job alone (${s.runs} runs): CPU ${s.cpuSeconds.toFixed(3)} s, wall ${
          s.wallSeconds.toFixed(3)
        } s, max RSS ${s.maxRssMiB.toFixed(0)} MiB`,
    );
  }
  return lines.join("\n");
}
