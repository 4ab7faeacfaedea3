/**
 * The lab's pages: the live overview, devices, workers and device types — each
 * rendered on the server from the lab's actors and database.
 */
import type { Hono } from "hono";
import { DeviceConfigurationError } from "../../master/lab/lab_dir.ts";
import { type Lab, LabRequestError } from "../../master/lab/lab.ts";
import {
  accessFor,
  assertDeviceTypeVisible,
  type DeviceView,
  listDevices,
  listDeviceTypes,
  listJobs,
  showDevice,
  showWorker,
  visibleDevices,
} from "../../master/lab/views.ts";
import { Island } from "../components/island.tsx";
import { Badge, formatTime } from "../components/layout.tsx";
import LiveOverview from "../islands/live_overview.tsx";
import { page, param, route, viewerOf, type WebEnv } from "../render.tsx";

/** A device's job: a link to it, "busy" for a job the viewer may not see, or a dash. */
function CurrentJob({ device }: { device: DeviceView }) {
  if (device.current_job !== null) return <a href={`/jobs/${device.current_job}`}>{device.current_job}</a>;
  return <>{device.state === "Idle" ? "—" : <span class="muted">busy</span>}</>;
}

export function labPages(app: Hono<WebEnv>, lab: Lab): void {
  app.get(
    "/",
    route(async (c) => {
      const jobs = await listJobs(lab, { limit: 20 }, c.get("user"));
      const access = await accessFor(lab, c.get("user"));
      const props = {
        workers: await Promise.all(
          [...lab.catalog.workers.keys()].sort().map(async (w) => {
            const worker = await showWorker(lab, w, access);
            return { hostname: w, state: worker.state, health: worker.health };
          }),
        ),
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
        <table>
          <thead>
            <tr>
              <th>Device</th>
              <th>Type</th>
              <th>State</th>
              <th>Health</th>
              <th>Job</th>
              <th>Worker</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {(await listDevices(lab, true, await accessFor(lab, c.get("user")))).map((d) => (
              <tr>
                <td>
                  <a href={`/devices/${d.hostname}`}>{d.hostname}</a>
                </td>
                <td>
                  <a href={`/device-types/${d.device_type}`}>{d.device_type}</a>
                </td>
                <td>
                  <Badge value={d.state} />
                </td>
                <td>
                  <Badge value={d.health} />
                </td>
                <td>
                  <CurrentJob device={d} />
                </td>
                <td>{d.worker ? <a href={`/workers/${d.worker}`}>{d.worker}</a> : "—"}</td>
                <td>{d.tags.join(", ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>,
      )
    ),
  );

  app.get(
    "/devices/:hostname",
    route(async (c) => {
      const hostname = param(c, "hostname");
      const device = await showDevice(lab, hostname, await accessFor(lab, c.get("user")));
      const info = lab.catalog.devices.get(hostname)!;
      const viewer = viewerOf(c);
      const dictionary = info.dictionary ?? lab.labDir.dictionaryFile(hostname);
      let rendered: string;
      try {
        rendered = lab.labDir.render(info);
      } catch (error) {
        if (!(error instanceof DeviceConfigurationError)) throw error;
        rendered = `cannot render: ${error.message}`;
      }
      const history = (await lab.host.options.journal.transitions("device", hostname))
        .filter((t) => t.eventType === "health").slice(-50).reverse();
      const jobs = await listJobs(lab, { device: hostname, limit: 20 }, c.get("user"));
      const maintenance = device.health === "Maintenance";
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
            <dd>{device.worker ? <a href={`/workers/${device.worker}`}>{device.worker}</a> : "—"}</dd>
            <dt>Tags</dt>
            <dd>{device.tags.join(", ") || "—"}</dd>
            <dt>State machine</dt>
            <dd>
              <a href={`/machines/device/${hostname}`}>watch the device's machine</a>
            </dd>
          </dl>
          {viewer?.isSuperuser && (
            <form method="post" action={`/web/devices/${hostname}/health`} class="inline" aria-label="maintenance">
              <input type="hidden" name="csrf" value={viewer.csrf} />
              <input type="hidden" name="health" value={maintenance ? "Unknown" : "Maintenance"} />
              <label>
                Reason <input type="text" name="reason" required placeholder="why" />
              </label>
              <button type="submit">{maintenance ? "Leave maintenance" : "Put in maintenance"}</button>
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
              {history.map((t) => {
                const payload = t.payload as { health?: string; reason?: string };
                return (
                  <tr>
                    <td>{formatTime(t.at)}</td>
                    <td>
                      <Badge value={payload.health} />
                    </td>
                    <td>{payload.reason ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>Jobs</h2>
          <table>
            <tbody>
              {jobs.map((j) => (
                <tr>
                  <td>
                    <a href={`/jobs/${j.id}`}>{j.id}</a>
                  </td>
                  <td>{j.description}</td>
                  <td>{formatTime(j.end_time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Dictionary</h2>
          <pre>{dictionary ?? "(none)"}</pre>
          <h2>Rendered configuration</h2>
          <details>
            <summary>device.yaml, as a job without context gets it</summary>
            <pre>{rendered}</pre>
          </details>
        </>,
      );
    }),
  );

  app.get(
    "/workers",
    route(async (c) => {
      const access = await accessFor(lab, c.get("user"));
      const workers = await Promise.all([...lab.catalog.workers.keys()].sort().map((w) => showWorker(lab, w, access)));
      return page(
        c,
        "Workers",
        <table>
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Health</th>
              <th>Version</th>
              <th>Devices</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr>
                <td>
                  <a href={`/workers/${w.hostname}`}>{w.hostname}</a>
                </td>
                <td>
                  <Badge value={w.state} />
                </td>
                <td>
                  <Badge value={w.health} />
                </td>
                <td>{w.version || "—"}</td>
                <td>{w.devices.length}</td>
                <td>{formatTime(w.last_ping)}</td>
              </tr>
            ))}
          </tbody>
        </table>,
      );
    }),
  );

  app.get(
    "/workers/:hostname",
    route(async (c) => {
      const worker = await showWorker(lab, param(c, "hostname"), await accessFor(lab, c.get("user")));
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
          <ul>
            {worker.devices.map((d) => (
              <li>
                <a href={`/devices/${d}`}>{d}</a> <Badge value={lab.deviceStatus(d)?.health} />
              </li>
            ))}
          </ul>
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
                <td>
                  {t.health_disabled ? "disabled" : `every ${t.health_frequency} ${t.health_denominator}`}
                </td>
                <td>{t.aliases.join(", ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>,
      )
    ),
  );

  app.get(
    "/device-types/:name",
    route(async (c) => {
      const name = param(c, "name");
      const access = await accessFor(lab, c.get("user"));
      assertDeviceTypeVisible(lab, name, access);
      const type = listDeviceTypes(lab, true, access).find((t) => t.name === name);
      if (!type) throw new LabRequestError(`Device type '${name}' was not found.`, 404);
      const check = lab.labDir.healthCheck(name);
      return page(
        c,
        `Device type ${name}`,
        <>
          <dl class="facts">
            <dt>Description</dt>
            <dd>{type.description || "—"}</dd>
            <dt>Health checks</dt>
            <dd>{type.health_disabled ? "disabled" : `every ${type.health_frequency} ${type.health_denominator}`}</dd>
            <dt>Aliases</dt>
            <dd>{type.aliases.join(", ") || "—"}</dd>
          </dl>
          <h2>Devices</h2>
          <ul>
            {visibleDevices(lab, access, { deviceType: name }).map((d) => (
              <li>
                <a href={`/devices/${d}`}>{d}</a> <Badge value={lab.deviceStatus(d)?.health} />
              </li>
            ))}
          </ul>
          <h2>Health check</h2>
          <pre>{check ?? "(none: devices of this type run no health check)"}</pre>
          <h2>Template</h2>
          <details>
            <summary>{name}.jinja2</summary>
            <pre>{lab.labDir.template(name) ?? "(no template of this name)"}</pre>
          </details>
        </>,
      );
    }),
  );
}
