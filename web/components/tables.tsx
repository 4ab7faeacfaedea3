/**
 * The lab's tables — jobs, devices, workers — drawn the same way by the pages
 * that render them on the server and by the islands that keep them live. Each
 * table takes the columns its place shows; each row carries `data-job`,
 * `data-device` or `data-worker` so that a live update (or a test) can find it.
 * Times may be Dates (on the server) or ISO strings (in an island's props).
 */
import type { ComponentChildren } from "preact";
import { Badge, formatTime } from "./badge.tsx";

type Time = Date | string | null;

interface Column<Row> {
  readonly title: string;
  readonly cell: (row: Row) => ComponentChildren;
}

/** One table of `rows` with the `columns` asked for; each row marked `data-<kind>="<its key>"`. */
function Table<Row, Name extends string>(props: {
  spec: Record<Name, Column<Row>>;
  columns: readonly Name[];
  rows: readonly Row[];
  kind: "job" | "device" | "worker";
  keyOf: (row: Row) => string;
}) {
  return (
    <table>
      <thead>
        <tr>
          {props.columns.map((c) => <th key={c}>{props.spec[c].title}</th>)}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={props.keyOf(row)} {...{ [`data-${props.kind}`]: props.keyOf(row) }}>
            {props.columns.map((c) => <td key={c}>{props.spec[c].cell(row)}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A job as its table draws it: the fields of the columns shown. */
export interface JobRow {
  readonly id: string | number;
  readonly description: string;
  readonly state?: string;
  readonly health?: string;
  readonly device_type?: string | null;
  readonly device?: string | null;
  readonly submitter?: string;
  readonly submit_time?: Time;
  readonly end_time?: Time;
}

const JOB_COLUMNS = {
  id: { title: "Job", cell: (j: JobRow) => <a href={`/jobs/${j.id}`}>{j.id}</a> },
  description: { title: "Description", cell: (j: JobRow) => j.description },
  state: { title: "State", cell: (j: JobRow) => <Badge value={j.state} /> },
  health: { title: "Health", cell: (j: JobRow) => <Badge value={j.health} /> },
  device_type: { title: "Device type", cell: (j: JobRow) => j.device_type },
  device: { title: "Device", cell: (j: JobRow) => j.device ?? "—" },
  submitter: { title: "Submitter", cell: (j: JobRow) => j.submitter },
  submitted: { title: "Submitted", cell: (j: JobRow) => formatTime(j.submit_time) },
  ended: { title: "Ended", cell: (j: JobRow) => formatTime(j.end_time) },
};

export type JobColumn = keyof typeof JOB_COLUMNS;

export function JobTable(props: { jobs: readonly JobRow[]; columns: readonly JobColumn[] }) {
  return <Table spec={JOB_COLUMNS} columns={props.columns} rows={props.jobs} kind="job" keyOf={(j) => String(j.id)} />;
}

/** A device as its table draws it. */
export interface DeviceRow {
  readonly hostname: string;
  readonly device_type: string;
  readonly state: string;
  readonly health: string;
  /** Null also when the device runs a job the viewer may not see: the state then says it is busy. */
  readonly current_job: string | number | null;
  readonly worker: string | null;
  readonly tags?: readonly string[];
}

/** A device's job: a link to it, "busy" for a job the viewer may not see, or a dash. */
export function CurrentJob({ device }: { device: Pick<DeviceRow, "current_job" | "state"> }) {
  if (device.current_job !== null) return <a href={`/jobs/${device.current_job}`}>{device.current_job}</a>;
  return <>{device.state === "Idle" ? "—" : <span class="muted">busy</span>}</>;
}

/** A worker's name as a link to it, or a dash. */
export function WorkerLink({ worker }: { worker: string | null }) {
  return <>{worker ? <a href={`/workers/${worker}`}>{worker}</a> : "—"}</>;
}

const DEVICE_COLUMNS = {
  device: { title: "Device", cell: (d: DeviceRow) => <a href={`/devices/${d.hostname}`}>{d.hostname}</a> },
  type: {
    title: "Type",
    cell: (d: DeviceRow) => <a href={`/device-types/${d.device_type}`}>{d.device_type}</a>,
  },
  state: { title: "State", cell: (d: DeviceRow) => <Badge value={d.state} /> },
  health: { title: "Health", cell: (d: DeviceRow) => <Badge value={d.health} /> },
  job: { title: "Job", cell: (d: DeviceRow) => <CurrentJob device={d} /> },
  worker: { title: "Worker", cell: (d: DeviceRow) => <WorkerLink worker={d.worker} /> },
  tags: { title: "Tags", cell: (d: DeviceRow) => d.tags?.join(", ") || "—" },
};

export type DeviceColumn = keyof typeof DEVICE_COLUMNS;

export function DeviceTable(props: { devices: readonly DeviceRow[]; columns: readonly DeviceColumn[] }) {
  return (
    <Table
      spec={DEVICE_COLUMNS}
      columns={props.columns}
      rows={props.devices}
      kind="device"
      keyOf={(d) => d.hostname}
    />
  );
}

/** A worker as its table draws it. */
export interface WorkerRow {
  readonly hostname: string;
  readonly state: string;
  readonly health: string;
  readonly version?: string;
  readonly devices?: readonly string[];
  readonly last_ping?: Time;
}

const WORKER_COLUMNS = {
  worker: { title: "Worker", cell: (w: WorkerRow) => <a href={`/workers/${w.hostname}`}>{w.hostname}</a> },
  state: { title: "State", cell: (w: WorkerRow) => <Badge value={w.state} /> },
  health: { title: "Health", cell: (w: WorkerRow) => <Badge value={w.health} /> },
  version: { title: "Version", cell: (w: WorkerRow) => w.version || "—" },
  devices: { title: "Devices", cell: (w: WorkerRow) => w.devices?.length ?? 0 },
  last_seen: { title: "Last seen", cell: (w: WorkerRow) => formatTime(w.last_ping) },
};

export type WorkerColumn = keyof typeof WORKER_COLUMNS;

export function WorkerTable(props: { workers: readonly WorkerRow[]; columns: readonly WorkerColumn[] }) {
  return (
    <Table
      spec={WORKER_COLUMNS}
      columns={props.columns}
      rows={props.workers}
      kind="worker"
      keyOf={(w) => w.hostname}
    />
  );
}

/** Devices as a list of links with their health, as a worker's or a device type's page shows them. */
export function DeviceList(props: { devices: readonly { hostname: string; health: string | undefined }[] }) {
  return (
    <ul>
      {props.devices.map((d) => (
        <li key={d.hostname}>
          <a href={`/devices/${d.hostname}`}>{d.hostname}</a> <Badge value={d.health} />
        </li>
      ))}
    </ul>
  );
}
