/**
 * The lab at a glance, live: workers, devices with their state, health and
 * job, the queue's length and the latest jobs — server-rendered, then kept
 * current from the master's event stream (no polling).
 */
import { useEffect, useState } from "preact/hooks";

export interface OverviewDevice {
  hostname: string;
  device_type: string;
  state: string;
  health: string;
  current_job: string | number | null;
  worker: string | null;
}

export interface OverviewJob {
  id: string | number;
  description: string;
  state: string;
  health: string;
  device: string | null;
  submitter: string;
}

export interface OverviewProps {
  workers: { hostname: string; state: string; health: string }[];
  devices: OverviewDevice[];
  jobs: OverviewJob[];
  queued: number;
  running: number;
}

function Badge({ value }: { value: string | null | undefined }) {
  const text = value ?? "—";
  return <span class={`badge badge-${text.toLowerCase()}`}>{text}</span>;
}

export default function LiveOverview(initial: OverviewProps) {
  const [state, setState] = useState(initial);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const source = new EventSource("/api/v1/events");
    let countTimer: ReturnType<typeof setTimeout> | undefined;
    // The counts come from the master itself: an event says something changed, not by how much.
    const refreshCounts = () => {
      clearTimeout(countTimer);
      countTimer = setTimeout(async () => {
        const status = await fetch("/api/v1/system/status").then((r) => r.json()).catch(() => undefined);
        if (status) setState((s) => ({ ...s, queued: status.queued, running: status.running }));
      }, 100);
    };
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener("testjob", (e) => {
      const d = JSON.parse((e as MessageEvent).data).data;
      setState((s) => {
        const job: OverviewJob = {
          id: d.job,
          description: d.description,
          state: d.state,
          health: d.health,
          device: d.device ?? null,
          submitter: d.submitter,
        };
        const others = s.jobs.filter((j) => String(j.id) !== String(d.job));
        const known = s.jobs.find((j) => String(j.id) === String(d.job));
        const jobs = known
          ? s.jobs.map((j) => (String(j.id) === String(d.job) ? job : j))
          : [job, ...others].slice(0, 20);
        return { ...s, jobs };
      });
      refreshCounts();
    });
    source.addEventListener("device", (e) => {
      const d = JSON.parse((e as MessageEvent).data).data;
      setState((s) => ({
        ...s,
        devices: s.devices.map((x) =>
          x.hostname === d.device ? { ...x, state: d.state, health: d.health, current_job: d.job ?? null } : x
        ),
      }));
    });
    source.addEventListener("worker", (e) => {
      const d = JSON.parse((e as MessageEvent).data).data;
      setState((s) => ({
        ...s,
        workers: s.workers.map((w) => (w.hostname === d.hostname ? { ...w, state: d.state, health: d.health } : w)),
      }));
    });
    return () => {
      clearTimeout(countTimer);
      source.close();
    };
  }, []);
  return (
    <div class="overview">
      <p class="status-line" aria-live="polite">
        <span data-testid="queued">{state.queued}</span> queued · <span data-testid="running">{state.running}</span>
        {" "}
        running · {state.devices.length} devices · {state.workers.length} workers
        {live && <span class="live-dot" title="live">live</span>}
      </p>
      <section aria-labelledby="workers-h">
        <h2 id="workers-h">Workers</h2>
        <table>
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Health</th>
            </tr>
          </thead>
          <tbody>
            {state.workers.map((w) => (
              <tr key={w.hostname} data-worker={w.hostname}>
                <td>
                  <a href={`/workers/${w.hostname}`}>{w.hostname}</a>
                </td>
                <td>
                  <Badge value={w.state} />
                </td>
                <td>
                  <Badge value={w.health} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="devices-h">
        <h2 id="devices-h">Devices</h2>
        <table>
          <thead>
            <tr>
              <th>Device</th>
              <th>Type</th>
              <th>State</th>
              <th>Health</th>
              <th>Job</th>
              <th>Worker</th>
            </tr>
          </thead>
          <tbody>
            {state.devices.map((d) => (
              <tr key={d.hostname} data-device={d.hostname}>
                <td>
                  <a href={`/devices/${d.hostname}`}>{d.hostname}</a>
                </td>
                <td>{d.device_type}</td>
                <td>
                  <Badge value={d.state} />
                </td>
                <td>
                  <Badge value={d.health} />
                </td>
                <td>{d.current_job ? <a href={`/jobs/${d.current_job}`}>{d.current_job}</a> : "—"}</td>
                <td>{d.worker ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="jobs-h">
        <h2 id="jobs-h">Latest jobs</h2>
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Description</th>
              <th>State</th>
              <th>Health</th>
              <th>Device</th>
              <th>Submitter</th>
            </tr>
          </thead>
          <tbody>
            {state.jobs.map((j) => (
              <tr key={String(j.id)} data-job={String(j.id)}>
                <td>
                  <a href={`/jobs/${j.id}`}>{j.id}</a>
                </td>
                <td>{j.description}</td>
                <td>
                  <Badge value={j.state} />
                </td>
                <td>
                  <Badge value={j.health} />
                </td>
                <td>{j.device ?? "—"}</td>
                <td>{j.submitter}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
