/** Admin changes to workers: add, change (description, job limit, health, configuration), remove. */
import { WorkerHealth } from "../../../actors/domain/states.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { addWorker, removeWorker, updateWorker, type WorkerChange } from "../../storage/workers.ts";
import type { Lab } from "../lab.ts";
import { LabRequestError } from "../request_error.ts";
import { type Changer, record, requireAdministrator } from "./authority.ts";

export async function addLabWorker(lab: Lab, by: Changer, hostname: string, description = "", jobLimit = 0) {
  requireAdministrator(by, "add_worker");
  await addWorker(lab.db, { hostname, description, jobLimit });
  lab.catalog.workers.set(hostname, {
    hostname,
    description,
    jobLimit,
    storedHealth: WorkerHealth.byName.Active,
    dispatcherConfig: "",
    env: "",
    envDut: "",
    lavaTokenHash: null,
  });
  // At once after the catalog: a worker whose session opens in between must find its actor.
  lab.workerAdded(hostname);
  await record(lab, by, { kind: "worker", name: hostname }, "added");
}

export interface WorkerUpdate extends Omit<WorkerChange, "health"> {
  readonly health?: WorkerHealthName;
  /** Why, for a maintenance or retirement: shown on the worker's page. */
  readonly reason?: string;
}

/** Changes a worker; a health change goes through its actor (retiring it retires its devices). */
export async function updateLabWorker(lab: Lab, by: Changer, hostname: string, change: WorkerUpdate): Promise<void> {
  requireAdministrator(by, "change_worker");
  const info = lab.catalog.workers.get(hostname);
  if (!info) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
  const { health, reason, ...columns } = change;
  const row = await updateWorker(lab.db, hostname, columns);
  const said: string[] = [];
  if (change.description !== undefined && change.description !== info.description) said.push("description changed");
  if (change.jobLimit !== undefined && change.jobLimit !== info.jobLimit) {
    said.push(`job limit ${info.jobLimit} → ${change.jobLimit}`);
  }
  if (change.dispatcherConfig !== undefined) said.push("dispatcher configuration changed");
  if (change.env !== undefined) said.push("env.yaml changed");
  if (change.envDut !== undefined) said.push("env-dut.yaml changed");
  const before = lab.workerStatus(hostname)?.health;
  if (health !== undefined && health !== before) {
    said.push(`health ${before} → ${health}${reason ? `: ${reason}` : ""}`);
  }
  if (said.length > 0) await record(lab, by, { kind: "worker", name: hostname }, said.join("; "));
  lab.catalog.workers.set(hostname, {
    ...info,
    description: row.description,
    jobLimit: row.job_limit,
    dispatcherConfig: row.dispatcher_config,
    env: row.env,
    envDut: row.env_dut,
  });
  lab.workerAdded(hostname);
  if (health !== undefined && health !== before) lab.setWorkerHealth(hostname, health);
}

/**
 * Removes a worker: refused while it is online (stop its service first: it would register again) or while a
 * device that is not retired is attached to it.
 */
export async function removeLabWorker(lab: Lab, by: Changer, hostname: string): Promise<void> {
  requireAdministrator(by, "delete_worker");
  if (!lab.catalog.workers.has(hostname)) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
  if (lab.workerStatus(hostname)?.state === "Online") {
    throw new LabRequestError(`worker ${hostname} is online: stop its service before removing it`, 409);
  }
  await removeWorker(lab.db, hostname);
  await record(lab, by, { kind: "worker", name: hostname }, "removed");
  for (const device of lab.catalog.devicesOf({ worker: hostname })) lab.deviceAdded({ ...device, worker: null });
  lab.workerRemoved(hostname);
}
