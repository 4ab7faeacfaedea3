/** Workers as LAVA's APIs show them: the catalog's facts, the live worker actor, and the devices the caller may see. */
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import type { Access } from "./access.ts";
import { visibleDevices } from "./devices.ts";

export interface WorkerView {
  hostname: string;
  description: string;
  state: string;
  health: string;
  devices: string[];
  last_ping: Date;
  job_limit: number;
  version: string;
}

export async function showWorker(lab: Lab, hostname: string, access: Access): Promise<WorkerView> {
  const info = lab.catalog.workers.get(hostname);
  const status = lab.workerStatus(hostname);
  if (!info || !status) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
  const row = await lab.db.selectFrom("workers").select(["last_ping", "created_at"]).where("hostname", "=", hostname)
    .executeTakeFirst();
  return {
    hostname,
    description: info.description,
    state: status.state,
    health: status.health,
    devices: visibleDevices(lab, access, { worker: hostname }),
    last_ping: new Date(row?.last_ping ?? row?.created_at ?? 0),
    job_limit: info.jobLimit,
    version: status.version ?? "",
  };
}

/** Every worker, by host name. */
export async function listWorkers(lab: Lab, access: Access): Promise<WorkerView[]> {
  return await Promise.all(workerNames(lab).map((w) => showWorker(lab, w, access)));
}

/** The workers' host names, sorted (LAVA shows every worker to everyone). */
export function workerNames(lab: Lab): string[] {
  return [...lab.catalog.workers.keys()].sort();
}
