/**
 * Jobs: the filtered, paged list; a job's page (live state, pipeline with
 * per-action timing, live log, results, MultiNode group, definition); its
 * results page; and the state-machine views of jobs, devices and workers.
 */
import type { Hono } from "hono";
import { JobHealth, JobState } from "../../actors/domain/states.ts";
import { deviceMachine } from "../../actors/machines/device.ts";
import { dispatchMachine } from "../../actors/machines/dispatch.ts";
import { jobMachine } from "../../actors/machines/job.ts";
import { workerMachine } from "../../actors/machines/worker.ts";
import { machineGraph } from "../../actors/runtime/machine_graph.ts";
import { intParam } from "../../master/http/params.ts";
import type { Lab } from "../../master/lab/lab.ts";
import { LabRequestError } from "../../master/lab/request_error.ts";
import {
  accessFor,
  actorTransitions,
  assertDeviceVisible,
  assertVisible,
  definitionFor,
  jobActions,
  jobGroup,
  jobResults,
  listJobs,
  logTail,
  pipelineLines,
  resolveJobId,
  showJob,
} from "../../master/views/mod.ts";
import { Badge } from "../components/badge.tsx";
import { Island } from "../components/island.tsx";
import { JobTable } from "../components/tables.tsx";
import { ReservationConsole } from "../components/reservation_console.tsx";
import { requiredMethods } from "../../actors/definitions/methods.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { isReservation } from "../../master/lab/registry.ts";
import ActorState from "../islands/actor_state.tsx";
import JobLive from "../islands/job_live.tsx";
import LiveLog from "../islands/live_log.tsx";
import PipelineLive, { applyLines } from "../islands/pipeline_live.tsx";
import { machineSvg } from "../machine_svg.ts";
import { page, param, route, viewerOf, type WebEnv } from "../render.tsx";

const PAGE = 50;
const TAIL = 200;
const MACHINES = { job: jobMachine, device: deviceMachine, worker: workerMachine } as const;

/** Whether a job's definition is a reservation's (its console goes on its page). */
function isReservationDefinition(definition: string): boolean {
  return isReservation(requiredMethods(loadYaml(definition).value));
}

export function jobPages(app: Hono<WebEnv>, lab: Lab): void {
  app.get(
    "/jobs",
    route(async (c) => {
      const q = c.req.query();
      const pageNumber = intParam(q.page, "page", { fallback: 1, min: 1, max: 1_000_000 });
      const parse = (codes: { parse(v: string): number }, value?: string) => {
        try {
          return value ? codes.parse(value) : undefined;
        } catch {
          throw new LabRequestError(`${value} is not a state or health`, 400);
        }
      };
      const jobs = await listJobs(lab, {
        state: parse(JobState, q.state),
        health: parse(JobHealth, q.health),
        deviceType: q.device_type || undefined,
        start: (pageNumber - 1) * PAGE,
        limit: PAGE + 1,
      }, c.get("user"));
      const shown = jobs.filter((j) => !q.submitter || j.submitter === q.submitter).slice(0, PAGE);
      const link = (p: number) => `/jobs?${new URLSearchParams({ ...q, page: String(p) })}`;
      return page(
        c,
        "Jobs",
        <>
          <form method="get" class="inline" aria-label="filters">
            <label>
              State{" "}
              <select name="state">
                <option value="">any</option>
                {JobState.names.map((s) => <option key={s} selected={q.state === s}>{s}</option>)}
              </select>
            </label>
            <label>
              Health{" "}
              <select name="health">
                <option value="">any</option>
                {JobHealth.names.map((h) => <option key={h} selected={q.health === h}>{h}</option>)}
              </select>
            </label>
            <label>
              Device type <input type="text" name="device_type" value={q.device_type ?? ""} />
            </label>
            <label>
              Submitter <input type="text" name="submitter" value={q.submitter ?? ""} />
            </label>
            <button type="submit">Filter</button>
          </form>
          <JobTable
            jobs={shown}
            columns={["id", "description", "state", "health", "device_type", "device", "submitter", "submitted"]}
          />
          <nav class="pager" aria-label="pages">
            {pageNumber > 1 && <a href={link(pageNumber - 1)}>← newer</a>}
            <span>page {pageNumber}</span>
            {jobs.length > PAGE && <a href={link(pageNumber + 1)}>older →</a>}
          </nav>
        </>,
      );
    }),
  );

  app.get(
    "/jobs/:id",
    route(async (c) => {
      const id = await resolveJobId(lab, param(c, "id"));
      const user = c.get("user");
      await assertVisible(lab, id, user);
      const job = await showJob(lab, id, "internal");
      const viewer = viewerOf(c);
      const { total, tail } = await logTail(lab, id, TAIL);
      const group = await jobGroup(lab, id);
      const pipeline = applyLines([], await pipelineLines(lab, id));
      const definition = await definitionFor(lab, id, user);
      const may = await jobActions(lab, id, user, definition);
      const reservation = isReservationDefinition(definition) && {
        job: String(job.id),
        state: job.state,
        csrf: viewer?.csrf ?? "",
        mayType: viewer !== undefined && (viewer.isSuperuser || viewer.username === job.submitter),
      };
      const live = {
        id: String(job.id),
        state: job.state,
        health: job.health,
        device: job.device,
        deviceType: job.device_type,
        submitter: job.submitter,
        submitTime: job.submit_time.toISOString(),
        startTime: job.start_time?.toISOString() ?? null,
        endTime: job.end_time?.toISOString() ?? null,
        failure: job.failure_comment,
        canCancel: may.cancel,
        canResubmit: may.resubmit,
        csrf: viewer?.csrf ?? "",
      };
      const log = { jobId: String(id), total, tail, finished: job.state === "Finished" };
      return page(
        c,
        `Job ${job.id}: ${job.description}`,
        <>
          <Island name="JobLive" props={live}>
            <JobLive {...live} />
          </Island>
          {reservation && <ReservationConsole {...reservation} />}
          <p>
            <a href={`/results/${job.id}`}>Results</a> · <a href={`/machines/job/${id}`}>State machine</a> ·{" "}
            <a href={`/api/v1/jobs/${id}/definition`}>Definition (YAML)</a>
          </p>
          {group.length > 0 && (
            <section aria-labelledby="group-h">
              <h2 id="group-h">MultiNode group</h2>
              <table>
                <tbody>
                  {group.map((g) => (
                    <tr>
                      <td>
                        <a href={`/jobs/${g.id}`}>{g.id}</a>
                      </td>
                      <td>{g.role}</td>
                      <td>
                        <Badge value={g.state} />
                      </td>
                      <td>
                        <Badge value={g.health} />
                      </td>
                      <td>{g.device ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
          <section aria-labelledby="pipeline-h">
            <h2 id="pipeline-h">Pipeline</h2>
            <Island name="PipelineLive" props={{ rows: pipeline }}>
              <PipelineLive rows={pipeline} />
            </Island>
          </section>
          <Island name="LiveLog" props={log}>
            <LiveLog {...log} />
          </Island>
          <section aria-labelledby="definition-h">
            <h2 id="definition-h">Definition</h2>
            <details>
              <summary>job definition as submitted</summary>
              <pre>{definition}</pre>
            </details>
          </section>
        </>,
      );
    }),
  );

  app.get(
    "/results/:id",
    route(async (c) => {
      const id = await resolveJobId(lab, param(c, "id"));
      await assertVisible(lab, id, c.get("user"));
      const { cases, suites } = await jobResults(lab, id);
      return page(
        c,
        `Results of job ${param(c, "id")}`,
        <>
          <p>
            <a href={`/jobs/${param(c, "id")}`}>Back to the job</a> · Export: <a href={`/results/${id}/csv`}>CSV</a> ·
            {" "}
            <a href={`/results/${id}/yaml`}>YAML</a>
          </p>
          <h2>Suites</h2>
          <table>
            <thead>
              <tr>
                <th>Suite</th>
                <th>Cases</th>
                <th>Pass</th>
                <th>Fail</th>
              </tr>
            </thead>
            <tbody>
              {suites.map((s) => (
                <tr>
                  <td>{s.name}</td>
                  <td>{s.total}</td>
                  <td>{s.pass}</td>
                  <td>{s.fail}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Test cases</h2>
          <table>
            <thead>
              <tr>
                <th>Suite</th>
                <th>Case</th>
                <th>Result</th>
                <th>Measurement</th>
                <th>Log</th>
              </tr>
            </thead>
            <tbody>
              {cases.map((r) => (
                <tr>
                  <td>{r.suite}</td>
                  <td>{r.name}</td>
                  <td>
                    <Badge value={r.result} />
                  </td>
                  <td>{r.measurement === "None" ? "" : `${r.measurement} ${r.unit}`}</td>
                  <td>
                    {r.log_start_line !== "None" && (
                      <a href={`/jobs/${param(c, "id")}#L${r.log_start_line}`}>line {r.log_start_line}</a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>,
      );
    }),
  );

  app.get(
    "/machines/:kind/:id",
    route(async (c) => {
      const kind = param(c, "kind") as keyof typeof MACHINES;
      let id = param(c, "id");
      if (!(kind in MACHINES)) throw new LabRequestError(`there are no ${kind} actors`, 404);
      if (kind === "job") {
        const jobId = await resolveJobId(lab, id);
        await assertVisible(lab, jobId, c.get("user"));
        id = String(jobId);
      } else if (kind === "device" ? !lab.deviceStatus(id) : !lab.workerStatus(id)) {
        throw new LabRequestError(`${kind} ${id} does not exist`, 404);
      }
      const access = await accessFor(lab, c.get("user"));
      if (kind === "device") assertDeviceVisible(lab, id, access);
      const records = await actorTransitions(lab, kind, id, access, { last: 500 });
      const history = records.reverse().map((t) => ({ ...t, at: new Date(t.at).toISOString() }));
      const current = kind === "device"
        ? lab.deviceStatus(id)!.state
        : kind === "worker"
        ? lab.workerStatus(id)!.state
        : (await showJob(lab, Number(id), "internal")).state;
      const props = { kind, id, svg: machineSvg(machineGraph(MACHINES[kind]), current), current, history };
      const dispatchState = kind === "job"
        ? current === "Running"
          ? "running"
          : current === "Canceling"
          ? "finalizing"
          : current === "Finished"
          ? "done"
          : undefined
        : undefined;
      return page(
        c,
        `${kind[0].toUpperCase()}${kind.slice(1)} ${id}: state machine`,
        <>
          <Island name="ActorState" props={props}>
            <ActorState {...props} />
          </Island>
          {kind === "job" && (
            <section aria-labelledby="dispatch-h">
              <h2 id="dispatch-h">The dispatcher's machine</h2>
              <p class="muted">
                Runs on the worker, one per job: the pipeline's actions in order, then finalize whatever happened.
              </p>
              <div
                class="drawing"
                dangerouslySetInnerHTML={{ __html: machineSvg(machineGraph(dispatchMachine), dispatchState) }}
              />
            </section>
          )}
        </>,
      );
    }),
  );
}
