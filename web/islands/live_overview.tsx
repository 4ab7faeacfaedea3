/**
 * The lab at a glance, live: workers, devices with their state, health and
 * job, the queue's length and the latest jobs — server-rendered, then kept
 * current from the master's event stream (no polling).
 */
import { useEffect, useState } from "preact/hooks";
import { type DeviceRow, DeviceTable, JobTable, type WorkerRow, WorkerTable } from "../components/tables.tsx";

export type OverviewDevice = Omit<DeviceRow, "tags">;

export interface OverviewJob {
  id: string | number;
  description: string;
  state: string;
  health: string;
  device: string | null;
  submitter: string;
}

export interface OverviewProps {
  workers: Pick<WorkerRow, "hostname" | "state" | "health">[];
  devices: OverviewDevice[];
  jobs: OverviewJob[];
  queued: number;
  running: number;
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
        <WorkerTable workers={state.workers} columns={["worker", "state", "health"]} />
      </section>
      <section aria-labelledby="devices-h">
        <h2 id="devices-h">Devices</h2>
        <DeviceTable devices={state.devices} columns={["device", "type", "state", "health", "job", "worker"]} />
      </section>
      <section aria-labelledby="jobs-h">
        <h2 id="jobs-h">Latest jobs</h2>
        <JobTable jobs={state.jobs} columns={["id", "description", "state", "health", "device", "submitter"]} />
      </section>
    </div>
  );
}
