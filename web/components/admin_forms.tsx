/**
 * The admin's forms and records, drawn on the server (no JavaScript needed):
 * an object's change record, the permissions groups hold on it, and the forms
 * that change device types, workers and devices. Every form carries the
 * session's CSRF token; the master checks who may submit it.
 */
import type { ComponentChildren } from "preact";
import type { AdminChange } from "../../master/views/mod.ts";
import { formatTime } from "./badge.tsx";

/** A select's options, the one given selected. */
export function Options(props: { values: readonly string[]; selected?: string }) {
  return <>{props.values.map((v) => <option key={v} value={v} selected={v === props.selected}>{v}</option>)}</>;
}

export function Csrf(props: { csrf: string }) {
  return <input type="hidden" name="csrf" value={props.csrf} />;
}

/** Adds a worker or device type by name (administrators), with a description. */
export function AddForm(props: { csrf: string; action: string; what: string }) {
  return (
    <>
      <h2>Add a {props.what}</h2>
      <form method="post" action={props.action} class="inline" aria-label={`add a ${props.what}`}>
        <Csrf csrf={props.csrf} />
        <label>
          Name <input type="text" name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" maxLength={200} />
        </label>
        <label>
          Description <input type="text" name="description" maxLength={2000} />
        </label>
        <button type="submit">Add</button>
      </form>
    </>
  );
}

/** Who changed the object, when, and what. */
export function ChangeRecord(props: { changes: readonly AdminChange[] }) {
  if (props.changes.length === 0) return <p class="muted">No changes recorded.</p>;
  return (
    <table data-testid="change-record">
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>What</th>
        </tr>
      </thead>
      <tbody>
        {props.changes.map((c) => (
          <tr key={String(c.id)}>
            <td>{formatTime(c.at)}</td>
            <td>{c.username}</td>
            <td>{c.summary}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The grants on a device or device type, each with a revoke button, and a form to grant one more. */
export function PermissionForms(props: {
  csrf: string;
  target: { kind: "device" | "device-type"; name: string };
  grants: readonly { group: string; permission: string }[];
  groups: readonly string[];
}) {
  const target = (
    <>
      <input type="hidden" name="kind" value={props.target.kind} />
      <input type="hidden" name="name" value={props.target.name} />
    </>
  );
  return (
    <>
      <table>
        <thead>
          <tr>
            <th>Group</th>
            <th>Permission</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {props.grants.map((g) => (
            <tr key={`${g.group}/${g.permission}`}>
              <td>{g.group}</td>
              <td>{g.permission}</td>
              <td>
                <form method="post" action="/web/permissions" class="inline">
                  <Csrf csrf={props.csrf} />
                  {target}
                  <input type="hidden" name="group" value={g.group} />
                  <input type="hidden" name="permission" value={g.permission} />
                  <button type="submit" name="change" value="revoke">Revoke</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/web/permissions" class="inline" aria-label="grant a permission">
        <Csrf csrf={props.csrf} />
        {target}
        <label>
          Group{" "}
          <select name="group" required>
            <Options values={props.groups} />
          </select>
        </label>
        <label>
          Permission{" "}
          <select name="permission">
            <option value="view">view</option>
            <option value="submit">submit</option>
            <option value="change">change</option>
          </select>
        </label>
        <button type="submit" name="change" value="grant">Grant</button>
      </form>
    </>
  );
}

export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      {props.children}
    </label>
  );
}

export interface DeviceTypeSettings {
  readonly name: string;
  readonly description: string;
  readonly health_frequency: number;
  readonly health_denominator: string;
  readonly health_disabled: boolean;
  readonly retention_days: number | null;
  readonly aliases: readonly string[];
}

export function DeviceTypeForm(props: { csrf: string; type: DeviceTypeSettings }) {
  const t = props.type;
  return (
    <>
      <form method="post" action={`/web/device-types/${t.name}`} class="stack" aria-label="device type settings">
        <Csrf csrf={props.csrf} />
        <Field label="Description">
          <input type="text" name="description" value={t.description} maxLength={2000} />
        </Field>
        <Field label="Health check every">
          <span>
            <input type="number" name="health_frequency" min="1" value={String(t.health_frequency)} required />{" "}
            <select name="health_denominator">
              <option value="hours" selected={t.health_denominator === "hours"}>hours</option>
              <option value="jobs" selected={t.health_denominator === "jobs"}>jobs</option>
            </select>
          </span>
        </Field>
        <Field label="Health checks disabled">
          <input type="checkbox" name="health_disabled" value="on" checked={t.health_disabled} />
        </Field>
        <Field label="Keep finished jobs (days; empty: the lab's default)">
          <input type="number" name="retention_days" min="1" value={t.retention_days ?? ""} />
        </Field>
        <button type="submit">Save</button>
      </form>
      <h3>Aliases</h3>
      <ul>
        {t.aliases.map((alias) => (
          <li key={alias}>
            <form method="post" action={`/web/device-types/${t.name}/aliases`} class="inline">
              <Csrf csrf={props.csrf} />
              {alias} <input type="hidden" name="alias" value={alias} />
              <button type="submit" name="change" value="remove" class="link">remove</button>
            </form>
          </li>
        ))}
      </ul>
      <form method="post" action={`/web/device-types/${t.name}/aliases`} class="inline" aria-label="add an alias">
        <Csrf csrf={props.csrf} />
        <label>
          Alias <input type="text" name="alias" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
        </label>
        <button type="submit" name="change" value="add">Add alias</button>
      </form>
    </>
  );
}

export function WorkerForm(props: {
  csrf: string;
  worker: { hostname: string; description: string; job_limit: number; health: string };
}) {
  const w = props.worker;
  return (
    <>
      <form method="post" action={`/web/workers/${w.hostname}`} class="stack" aria-label="worker settings">
        <Csrf csrf={props.csrf} />
        <Field label="Description">
          <input type="text" name="description" value={w.description} maxLength={2000} />
        </Field>
        <Field label="Job limit (0: none)">
          <input type="number" name="job_limit" min="0" value={String(w.job_limit)} />
        </Field>
        <Field label="Health">
          <select name="health">
            <Options values={["Active", "Maintenance", "Retired"]} selected={w.health} />
          </select>
        </Field>
        <Field label="Reason (for a change of health)">
          <input type="text" name="reason" maxLength={500} />
        </Field>
        <button type="submit">Save</button>
      </form>
      <form method="post" action={`/web/workers/${w.hostname}/remove`} class="inline" aria-label="remove the worker">
        <Csrf csrf={props.csrf} />
        <button type="submit">Remove this worker</button>{" "}
        <span class="muted">(offline, with no device left but retired ones)</span>
      </form>
    </>
  );
}

export interface DeviceFormValues {
  readonly hostname: string;
  readonly device_type: string;
  readonly worker: string;
  readonly description: string;
  readonly tags: string;
  readonly public: boolean;
  readonly physical_owner: string;
  readonly physical_group: string;
  readonly health: string;
  readonly dictionary: string;
}

export type Preview = { ok: true; rendered: string } | { ok: false; problems: string[] };

/** A new device, or one to change, with its dictionary checked and rendered on "Preview" before "Save". */
export function DeviceForm(props: {
  csrf: string;
  isNew: boolean;
  values: DeviceFormValues;
  types: readonly string[];
  workers: readonly string[];
  preview?: Preview;
  error?: string;
}) {
  const v = props.values;
  return (
    <>
      {props.error && <p class="notice error" role="alert">{props.error}</p>}
      <form
        method="post"
        action={props.isNew ? "/web/devices" : `/web/devices/${v.hostname}`}
        class="stack"
        aria-label="device"
      >
        <Csrf csrf={props.csrf} />
        {props.isNew
          ? (
            <Field label="Host name">
              <input type="text" name="hostname" value={v.hostname} required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
            </Field>
          )
          : <input type="hidden" name="hostname" value={v.hostname} />}
        <Field label="Device type">
          <select name="device_type">
            <Options values={props.types} selected={v.device_type} />
          </select>
        </Field>
        <Field label="Worker">
          <select name="worker">
            <Options values={props.workers} selected={v.worker} />
          </select>
        </Field>
        <Field label="Description">
          <input type="text" name="description" value={v.description} maxLength={2000} />
        </Field>
        <Field label="Tags (comma-separated)">
          <input type="text" name="tags" value={v.tags} />
        </Field>
        <Field label="Public (everyone who may see its type sees it)">
          <input type="checkbox" name="public" value="on" checked={v.public} />
        </Field>
        <Field label="Physical owner">
          <input type="text" name="physical_owner" value={v.physical_owner} maxLength={150} />
        </Field>
        <Field label="Physical group">
          <input type="text" name="physical_group" value={v.physical_group} maxLength={150} />
        </Field>
        {props.isNew && (
          <Field label="Health">
            <select name="health">
              <Options values={["Maintenance", "Unknown", "Good"]} selected={v.health} />
            </select>
          </Field>
        )}
        <Field label="Dictionary">
          <textarea name="dictionary" rows={12} spellcheck={false} data-testid="dictionary">{v.dictionary}</textarea>
        </Field>
        <div class="buttons">
          <button type="submit" name="action" value="preview">Preview</button>{" "}
          <button type="submit" name="action" value="save">Save</button>
        </div>
      </form>
      {props.preview && (
        <section aria-label="preview" data-testid="preview">
          <h2>Preview</h2>
          {props.preview.ok
            ? (
              <>
                <p class="notice" role="status">The dictionary renders and is a valid device configuration.</p>
                <pre>{props.preview.rendered}</pre>
              </>
            )
            : (
              <ul class="notice error" role="alert">
                {props.preview.problems.map((p, i) => <li key={i}>{p}</li>)}
              </ul>
            )}
        </section>
      )}
    </>
  );
}
