/**
 * The pipeline as it runs: each action with when it started, how long it took
 * and how it ended, from the log's `start:`/`end:` lines and the `lava` suite's
 * results — updated from the lines the live log receives.
 */
import { useEffect, useState } from "preact/hooks";

export interface ActionRow {
  level: string;
  name: string;
  started: string;
  seconds?: number;
  status: "running" | "pass" | "fail";
}

interface Line {
  dt: string;
  lvl: string;
  msg: unknown;
}

/** Folds log lines into the pipeline rows (used on the server for the first paint too). */
export function applyLines(rows: ActionRow[], lines: readonly Line[]): ActionRow[] {
  const next = [...rows];
  for (const line of lines) {
    if (line.lvl === "results" && typeof line.msg === "object" && line.msg !== null) {
      const r = line.msg as { definition?: string; case?: string; level?: string; result?: string };
      const row = next.find((a) => a.level === r.level && a.name === r.case);
      if (r.definition === "lava" && row && r.result === "fail") row.status = "fail";
      continue;
    }
    if (line.lvl !== "info" || typeof line.msg !== "string") continue;
    const match = /^(start|end): (\S+) (\S+)/.exec(line.msg);
    if (!match) continue;
    if (match[1] === "start") {
      next.push({ level: match[2], name: match[3], started: line.dt, status: "running" });
    } else {
      const row = next.findLast((a) => a.level === match[2] && a.name === match[3]);
      if (row) {
        row.seconds = (new Date(line.dt).getTime() - new Date(row.started).getTime()) / 1000;
        if (row.status === "running") row.status = "pass";
      }
    }
  }
  return next;
}

export default function PipelineLive(props: { rows: ActionRow[] }) {
  const [rows, setRows] = useState(props.rows);
  useEffect(() => {
    const onLines = (e: Event) => setRows((r) => applyLines(r, (e as CustomEvent<Line[]>).detail));
    globalThis.addEventListener("basalt-log-lines", onLines);
    return () => globalThis.removeEventListener("basalt-log-lines", onLines);
  }, []);
  if (rows.length === 0) return <p class="muted">Not started yet.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Level</th>
          <th>Action</th>
          <th>Started</th>
          <th>Took</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr key={`${t.level} ${t.name}`}>
            <td>{t.level}</td>
            <td style={`padding-left:${(t.level.split(".").length - 1) * 1.2 + 0.6}rem`}>{t.name}</td>
            <td>{t.started.replace("T", " ").slice(0, 19)}</td>
            <td>{t.seconds === undefined ? "—" : `${t.seconds.toFixed(2)} s`}</td>
            <td>
              <span class={`badge badge-${t.status}`}>{t.status}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
