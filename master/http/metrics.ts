/**
 * The master's `/metrics` in Prometheus's text format: the queue, jobs by
 * state, devices and workers by state and health, scheduling pass durations,
 * log lines stored, the workers' mailbox (deliveries, retransmissions, drops)
 * and events published.
 */
import type { Lab } from "../lab/lab.ts";

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

const label = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

/** Counts keyed by `state\u0000health`, as labelled samples. */
const byStateAndHealth = (counts: Map<string, number>): [string, number][] =>
  [...counts].map(([key, n]) => {
    const [state, health] = key.split("\u0000");
    return [`{state="${label(state)}",health="${label(health)}"}`, n];
  });

export function prometheusMetrics(lab: Lab): string {
  const m = lab.metrics();
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric("basalt_queue_length", "gauge", "Jobs waiting in the scheduler's queue.", [["", m.queued]]);
  metric(
    "basalt_jobs",
    "gauge",
    "Jobs not finished, by state.",
    [...m.jobs].map(([state, n]) => [`{state="${label(state)}"}`, n]),
  );
  metric(
    "basalt_devices",
    "gauge",
    "Devices by state and health.",
    byStateAndHealth(m.devices),
  );
  metric(
    "basalt_workers",
    "gauge",
    "Workers by state and health.",
    byStateAndHealth(m.workers),
  );
  const passes = [...m.passSeconds].sort((a, b) => a - b);
  // A summary's count and sum are suffixes of its name, not labels.
  metric("basalt_scheduling_pass_seconds", "summary", "Duration of the last 1,000 scheduling passes.", [
    ['{quantile="0.5"}', quantile(passes, 0.5)],
    ['{quantile="0.99"}', quantile(passes, 0.99)],
    ["_count", passes.length],
    ["_sum", passes.reduce((a, b) => a + b, 0)],
  ]);
  metric("basalt_log_lines_total", "counter", "Job log lines stored since the master started.", [["", m.logLines]]);
  metric("basalt_mailbox_delivered_total", "counter", "Messages from workers handled.", [["", m.mailbox.delivered]]);
  metric("basalt_mailbox_retransmissions_total", "counter", "Messages sent to workers again.", [[
    "",
    m.mailbox.retransmissions,
  ]]);
  metric(
    "basalt_mailbox_dropped_total",
    "counter",
    "Incoming messages dropped, by reason.",
    Object.entries(m.mailbox.dropped).map(([reason, n]) => [`{reason="${label(reason)}"}`, n]),
  );
  metric("basalt_events_published_total", "counter", "Lab events published.", [["", m.events]]);
  return out.join("\n") + "\n";
}
