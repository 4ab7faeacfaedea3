/**
 * Which workers may open a session with the master. A worker the lab knows
 * (added by an admin, or registered earlier) always may. An unknown one
 * registers itself, as LAVA's workers do, if its name can be a worker's and,
 * without CurveZMQ, only while the lab holds fewer than MAX_UNADOPTED_WORKERS
 * workers without a device: any local process can claim a name in plain text,
 * and each registration is a stored worker and an actor. With CurveZMQ a name
 * is bound to a key an admin put in the allowed directory, which bounds them.
 */
import type { Catalog } from "./catalog.ts";

/** Workers with no device, beyond which a plain-text peer cannot register itself. */
export const MAX_UNADOPTED_WORKERS = 20;

/** The database's own rule for worker host names (`workers.hostname`). */
export const WORKER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Why the worker `name` may not open a session, or undefined when it may. */
export function workerSessionRefusal(
  catalog: Pick<Catalog, "workers" | "devices">,
  name: string,
  authenticated: boolean,
): string | undefined {
  const known = catalog.workers.get(name);
  if (known?.lavaTokenHash) {
    return `worker ${name} is a LAVA worker: it joins over HTTP with its token (deno task manage workers lava-token ` +
      `${name} --remove makes it a Basalt worker again)`;
  }
  if (known) return undefined;
  if (!WORKER_NAME.test(name)) {
    return `"${name}" cannot be a worker's name: use a host name of letters, digits, '.', '_' and '-'`;
  }
  if (authenticated) return undefined;
  const withDevices = new Set<string>();
  for (const device of catalog.devices.values()) if (device.worker) withDevices.add(device.worker);
  let unadopted = 0;
  for (const worker of catalog.workers.keys()) if (!withDevices.has(worker)) unadopted++;
  if (unadopted < MAX_UNADOPTED_WORKERS) return undefined;
  return `the master already has ${unadopted} workers without devices, the most that may register themselves; ` +
    `an admin adds this one with: deno task manage workers add ${name}`;
}
