/**
 * The lab's pages: the live overview, devices, workers and device types — each
 * rendered on the server from the lab's views (master/views/), its tables the
 * ones the overview's island keeps live.
 */
import type { Hono } from "hono";
import type { Lab } from "../../master/lab/lab.ts";
import { JobState } from "../../actors/domain/states.ts";
import {
  accessFor,
  changeRecord,
  deviceConfiguration,
  deviceHealthHistory,
  type DeviceTypeView,
  groupNames,
  listDevices,
  listDeviceTypes,
  listJobs,
  listWorkers,
  mayChangeDevice,
  mayChangeDeviceType,
  permissionsOn,
  showDevice,
  showDeviceType,
  showWorker,
  visibleDeviceHealths,
} from "../../master/views/mod.ts";
import { Badge, formatTime } from "../components/badge.tsx";
import { Island } from "../components/island.tsx";
import { CurrentJob, DeviceList, DeviceTable, JobTable, WorkerLink, WorkerTable } from "../components/tables.tsx";
import LiveOverview from "../islands/live_overview.tsx";
import { AddForm, ChangeRecord, DeviceTypeForm, PermissionForms, WorkerForm } from "../components/admin_forms.tsx";
import { page, param, route, viewerOf, type WebEnv } from "../render.tsx";

/** How often a device type's devices run their health check. */
function healthChecks(type: DeviceTypeView): string {
  return type.health_disabled ? "disabled" : `every ${type.health_frequency} ${type.health_denominator}`;
}

export function labPages(app: Hono<WebEnv>, lab: Lab): void {
  app.get(
    "/",
    route(async (c) => {
      const jobs = await listJobs(lab, { limit: 20 }, c.get("user"));
      const access = await accessFor(lab, c.get("user"));
      const props = {
        workers: (await listWorkers(lab, access)).map((w) => ({
          hostname: w.hostname,
          state: w.state,
          health: w.health,
        })),
        devices: (await listDevices(lab, false, access)).map((d) => ({
          hostname: d.hostname,
          device_type: d.device_type,
          state: d.state,
          health: d.health,
          current_job: d.current_job,
          worker: d.worker,
        })),
        jobs: jobs.map((j) => ({
          id: j.id,
          description: j.description,
          state: j.state,
          health: j.health,
          device: j.device,
          submitter: j.submitter,
        })),
        ...lab.counts(),
      };
      return page(
        c,
        "Lab overview",
        <Island name="LiveOverview" props={props}>
          <LiveOverview {...props} />
        </Island>,
      );
    }),
  );

  app.get(
    "/devices",
    route(async (c) =>
      page(
        c,
        "Devices",
        <>
          {c.get("user")?.is_superuser && (
            <p>
              <a href="/devices/new">Add a device</a>
            </p>
          )}
          <DeviceTable
            devices={await listDevices(lab, true, await accessFor(lab, c.get("user")))}
            columns={["device", "type", "state", "health", "job", "worker", "tags"]}
          />
        </>,
      )
    ),
  );

  app.get(
    "/devices/:hostname",
    route(async (c) => {
      const hostname = param(c, "hostname");
      const access = await accessFor(lab, c.get("user"));
      const device = await showDevice(lab, hostname, access);
      const viewer = viewerOf(c);
      const { dictionary, rendered } = deviceConfiguration(lab, hostname, access);
      const history = await deviceHealthHistory(lab, hostname, access);
      const jobs = await listJobs(lab, { device: hostname, limit: 20 }, c.get("user"));
      const maintenance = device.health === "Maintenance";
      const mayChange = mayChangeDevice(lab, access, hostname);
      const changes = await changeRecord(lab, { kind: "device", name: hostname }, mayChange);
      const grants = viewer?.isSuperuser ? await permissionsOn(lab, { device: hostname }) : [];
      const groups = viewer?.isSuperuser ? await groupNames(lab) : [];
      return page(
        c,
        `Device ${hostname}`,
        <>
          <dl class="facts">
            <dt>Type</dt>
            <dd>
              <a href={`/device-types/${device.device_type}`}>{device.device_type}</a>
            </dd>
            <dt>State</dt>
            <dd data-testid="device-state">
              <Badge value={device.state} />
            </dd>
            <dt>Health</dt>
            <dd data-testid="device-health">
              <Badge value={device.health} />{" "}
              {device.health_reason && <span class="muted">({device.health_reason})</span>}
            </dd>
            <dt>Current job</dt>
            <dd>
              <CurrentJob device={device} />
            </dd>
            <dt>Worker</dt>
            <dd>
              <WorkerLink worker={device.worker} />
            </dd>
            <dt>Tags</dt>
            <dd>{device.tags.join(", ") || "—"}</dd>
            <dt>Description</dt>
            <dd>{device.description ?? "—"}</dd>
            <dt>Looked after by</dt>
            <dd>{[device.physical_owner, device.physical_group].filter(Boolean).join(", ") || "—"}</dd>
            <dt>State machine</dt>
            <dd>
              <a href={`/machines/device/${hostname}`}>watch the device's machine</a>
            </dd>
          </dl>
          {viewer && mayChange && (
            <p>
              <a href={`/devices/${hostname}/edit`}>Change this device</a>
            </p>
          )}
          {viewer && mayChange && (
            <form method="post" action={`/web/devices/${hostname}/health`} class="inline" aria-label="maintenance">
              <input type="hidden" name="csrf" value={viewer.csrf} />
              <input type="hidden" name="health" value={maintenance ? "Unknown" : "Maintenance"} />
              <label>
                Reason <input type="text" name="reason" required placeholder="why" />
              </label>
              <button type="submit">{maintenance ? "Leave maintenance" : "Put in maintenance"}</button>
            </form>
          )}
          {viewer && device.health !== "Retired" && (
            <form method="post" action={`/web/devices/${hostname}/reserve`} aria-label="reserve">
              <input type="hidden" name="csrf" value={viewer.csrf} />
              <h2>Reserve</h2>
              <p class="muted">
                Queued like a job; when it runs, its console and power are yours on the reservation's page. Give a job
                whose deploy and boot actions run first, or none for the board as it is.
              </p>
              <label>
                Minutes <input type="number" name="minutes" min="1" max="1440" value="30" required />
              </label>
              <label>
                Boot job (YAML, optional)
                <textarea name="boot" rows={6} cols={80} placeholder="a job definition: its deploy and boot actions" />
              </label>
              <button type="submit">Reserve {hostname}</button>
            </form>
          )}
          <h2>Health history</h2>
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Health</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr>
                  <td>{formatTime(h.at)}</td>
                  <td>
                    <Badge value={h.health} />
                  </td>
                  <td>{h.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Jobs</h2>
          <JobTable jobs={jobs} columns={["id", "description", "ended"]} />
          <h2>Dictionary</h2>
          <pre>{dictionary ?? "(none)"}</pre>
          <h2>Rendered configuration</h2>
          <details>
            <summary>device.yaml, as a job without context gets it</summary>
            <pre>{rendered}</pre>
          </details>
          {viewer?.isSuperuser && (
            <>
              <h2>Permissions</h2>
              <PermissionForms
                csrf={viewer.csrf}
                target={{ kind: "device", name: hostname }}
                grants={grants}
                groups={groups}
              />
            </>
          )}
          {mayChange && (
            <>
              <h2>Changes</h2>
              <ChangeRecord changes={changes} />
            </>
          )}
        </>,
      );
    }),
  );

  app.get(
    "/workers",
    route(async (c) => {
      const access = await accessFor(lab, c.get("user"));
      const workers = await listWorkers(lab, access);
      const viewer = viewerOf(c);
      return page(
        c,
        "Workers",
        <>
          <WorkerTable workers={workers} columns={["worker", "state", "health", "version", "devices", "last_seen"]} />
          {viewer?.isSuperuser && <AddForm csrf={viewer.csrf} action="/web/workers" what="worker" />}
        </>,
      );
    }),
  );

  app.get(
    "/workers/:hostname",
    route(async (c) => {
      const access = await accessFor(lab, c.get("user"));
      const worker = await showWorker(lab, param(c, "hostname"), access);
      const viewer = viewerOf(c);
      const changes = await changeRecord(lab, { kind: "worker", name: worker.hostname }, !!viewer?.isSuperuser);
      return page(
        c,
        `Worker ${worker.hostname}`,
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <Badge value={worker.state} />
            </dd>
            <dt>Health</dt>
            <dd>
              <Badge value={worker.health} />
            </dd>
            <dt>Joins through</dt>
            <dd>
              {lab.lavaWorkers.isLava(worker.hostname)
                ? "LAVA's HTTP worker API (lava-worker and lava-run)"
                : "Basalt's mailbox (deno task worker)"}
            </dd>
            <dt>Version</dt>
            <dd>{worker.version || "—"}</dd>
            <dt>Job limit</dt>
            <dd>{worker.job_limit || "none"}</dd>
            <dt>Last seen</dt>
            <dd>{formatTime(worker.last_ping)}</dd>
            <dt>Description</dt>
            <dd>{worker.description || "—"}</dd>
            <dt>State machine</dt>
            <dd>
              <a href={`/machines/worker/${worker.hostname}`}>watch the worker's machine</a>
            </dd>
          </dl>
          <h2>Devices</h2>
          <DeviceList devices={visibleDeviceHealths(lab, access, { worker: worker.hostname })} />
          {viewer?.isSuperuser && (
            <>
              <h2>Settings</h2>
              <WorkerForm csrf={viewer.csrf} worker={worker} />
              <h2>Changes</h2>
              <ChangeRecord changes={changes} />
            </>
          )}
        </>,
      );
    }),
  );

  app.get(
    "/device-types",
    route(async (c) =>
      page(
        c,
        "Device types",
        <>
          <table>
            <thead>
              <tr>
                <th>Type</th>
                <th>Devices</th>
                <th>Health checks</th>
                <th>Aliases</th>
              </tr>
            </thead>
            <tbody>
              {listDeviceTypes(lab, true, await accessFor(lab, c.get("user"))).map((t) => (
                <tr>
                  <td>
                    <a href={`/device-types/${t.name}`}>{t.name}</a>
                  </td>
                  <td>{t.devices}</td>
                  <td>{healthChecks(t)}</td>
                  <td>{t.aliases.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {viewerOf(c)?.isSuperuser && (
            <AddForm csrf={viewerOf(c)!.csrf} action="/web/device-types" what="device type" />
          )}
        </>,
      )
    ),
  );

  app.get(
    "/device-types/:name",
    route(async (c) => {
      const name = param(c, "name");
      const access = await accessFor(lab, c.get("user"));
      const { type, healthCheck, template } = showDeviceType(lab, name, access);
      const viewer = viewerOf(c);
      const mayChange = !!viewer && mayChangeDeviceType(lab, access, name);
      const queue = await listJobs(
        lab,
        { deviceType: name, state: JobState.byName.Submitted, limit: 50 },
        c.get("user"),
      );
      const changes = await changeRecord(lab, { kind: "device-type", name }, mayChange);
      const grants = mayChange ? await permissionsOn(lab, { deviceType: name }) : [];
      const groups = mayChange ? await groupNames(lab) : [];
      const devices = await listDevices(lab, true, access);
      return page(
        c,
        `Device type ${name}`,
        <>
          <dl class="facts">
            <dt>Description</dt>
            <dd>{type.description || "—"}</dd>
            <dt>Health checks</dt>
            <dd>{healthChecks(type)}</dd>
            <dt>Aliases</dt>
            <dd>{type.aliases.join(", ") || "—"}</dd>
          </dl>
          <h2>Devices</h2>
          <DeviceTable
            devices={devices.filter((d) => d.device_type === name)}
            columns={["device", "state", "health", "job", "worker", "tags"]}
          />
          <h2>Queue</h2>
          {queue.length === 0
            ? <p class="muted">No job waits for a device of this type.</p>
            : <JobTable jobs={queue} columns={["id", "description", "submitter", "submitted"]} />}
          <h2>Health check</h2>
          <pre>{healthCheck ?? "(none: devices of this type run no health check)"}</pre>
          <h2>Template</h2>
          <details>
            <summary>{name}.jinja2</summary>
            <pre>{template ?? "(no template of this name)"}</pre>
          </details>
          {mayChange && viewer && (
            <>
              <h2>Settings</h2>
              <DeviceTypeForm
                csrf={viewer.csrf}
                type={{ ...type, retention_days: lab.catalog.deviceTypes.get(name)?.retentionDays ?? null }}
              />
              <h2>Permissions</h2>
              <PermissionForms
                csrf={viewer.csrf}
                target={{ kind: "device-type", name }}
                grants={grants}
                groups={groups}
              />
              <h2>Changes</h2>
              <ChangeRecord changes={changes} />
            </>
          )}
        </>,
      );
    }),
  );
}
