/**
 * The lab's devices and workers: their actors, spawned from the catalog (and
 * restored from the journal), the changes admins make to them, and the
 * scheduler's view of them — derived from their actors' transitions here, and
 * nowhere else.
 */
import type { Transaction } from "kysely";
import { DeviceHealth, WorkerHealth } from "../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../actors/machines/device.ts";
import type { WorkerHealthName } from "../../actors/machines/worker.ts";
import type { ActorHost } from "../../actors/process/host.ts";
import type { Database } from "../storage/schema.ts";
import type { Cancellation } from "./cancellation.ts";
import type { Catalog, DeviceInfo } from "./catalog.ts";
import type { Placement } from "./placement.ts";
import type { ActorRegistry } from "./registry.ts";
import { LabRequestError } from "./request_error.ts";
import type { Scheduler } from "./scheduler.ts";

type Tx = Transaction<Database>;

export interface RosterOptions {
  readonly host: ActorHost<Tx>;
  readonly registry: ActorRegistry;
  readonly scheduler: Scheduler;
  readonly catalog: Catalog;
  readonly placement: Placement;
  readonly cancellation: Cancellation;
}

export class Roster {
  constructor(private readonly o: RosterOptions) {}

  /** Spawns (or restores) the actor of every worker and device in the catalog. */
  start(): void {
    for (const worker of this.o.catalog.workers.values()) this.#spawnWorker(worker.hostname);
    for (const device of this.o.catalog.devices.values()) this.#spawnDevice(device);
  }

  /** A device actor moved: the scheduler's view follows, and an Idle device may take a job. */
  deviceChanged(hostname: string): void {
    const device = this.o.registry.deviceSnapshot(hostname);
    if (!device) return;
    this.o.scheduler.deviceChanged(hostname, device.state, device.context.health);
    if (device.state === "Idle") this.o.placement.request([hostname]);
  }

  /** A worker actor moved: an Online and Active worker's devices may take jobs, within its job limit. */
  workerChanged(hostname: string): void {
    const worker = this.o.registry.workerSnapshot(hostname);
    if (!worker) return;
    const limits = [this.o.catalog.workers.get(hostname)?.jobLimit ?? 0, worker.context.reportedJobLimit]
      .filter((l) => l > 0);
    const schedulable = worker.state === "Online" && worker.context.health === "Active";
    this.o.scheduler.setWorker({
      hostname,
      schedulable,
      jobLimit: limits.length ? Math.min(...limits) : 0,
      capabilities: worker.context.capabilities,
    });
    if (schedulable) this.o.placement.request(this.o.catalog.devicesOf({ worker: hostname }).map((d) => d.hostname));
  }

  /** Adds a device created through the API to the running lab, or takes its changed facts. */
  deviceAdded(info: DeviceInfo): void {
    this.o.catalog.devices.set(info.hostname, info);
    if (!this.o.registry.device(info.hostname)) return this.#spawnDevice(info);
    this.#setSchedulerDevice(info);
    this.deviceChanged(info.hostname);
  }

  workerAdded(hostname: string): void {
    if (!this.o.registry.worker(hostname)) this.#spawnWorker(hostname);
  }

  workerRemoved(hostname: string): void {
    this.o.scheduler.setWorker({ hostname, schedulable: false, jobLimit: 0 });
    this.o.registry.removeWorker(hostname);
    this.o.catalog.workers.delete(hostname);
  }

  /** A worker unknown to the catalog opened a session (its key was accepted): it joins the lab. */
  registerWorker(hostname: string): void {
    this.o.catalog.workers.set(hostname, {
      hostname,
      description: "",
      jobLimit: 0,
      storedHealth: WorkerHealth.byName.Active,
      dispatcherConfig: "",
      env: "",
      envDut: "",
      lavaTokenHash: null,
    });
    this.o.host.committer.stage((batch) =>
      batch.work.push(async (trx) => {
        await trx.insertInto("workers").values({ hostname }).onConflict((oc) => oc.doNothing()).execute();
      })
    );
    this.#spawnWorker(hostname);
  }

  setDeviceHealth(hostname: string, health: DeviceHealthName, reason: string): void {
    const actor = this.o.registry.device(hostname);
    if (!actor) throw new LabRequestError(`device ${hostname} does not exist`, 404);
    actor.send({ type: "health", health, reason });
    const job = this.o.registry.deviceSnapshot(hostname)?.context.job;
    // LAVA: retiring a device cancels its job.
    if (health === "Retired" && job) this.o.cancellation.cancelOne(Number(job));
  }

  /** Sets a worker's health; retiring it retires its devices, and its return to service re-checks them. */
  setWorkerHealth(hostname: string, health: WorkerHealthName): void {
    const actor = this.o.registry.worker(hostname);
    if (!actor) throw new LabRequestError(`worker ${hostname} does not exist`, 404);
    const before = actor.getSnapshot().context.health;
    actor.send({ type: "health", health });
    for (const device of this.o.catalog.devicesOf({ worker: hostname })) {
      const current = this.o.registry.deviceSnapshot(device.hostname)?.context.health;
      if (health === "Retired" && current !== "Bad" && current !== "Retired") {
        this.setDeviceHealth(device.hostname, "Retired", `worker ${hostname} retired`);
      } else if (health === "Active" && before !== "Active" && before !== "Retired" && current === "Good") {
        this.setDeviceHealth(device.hostname, "Unknown", `worker ${hostname} back in service`);
      }
    }
  }

  #spawnWorker(hostname: string): void {
    const info = this.o.catalog.workers.get(hostname)!;
    const actor = this.o.registry.spawnWorker(
      hostname,
      WorkerHealth.name(info.storedHealth),
      this.o.host.restored("worker", hostname),
    );
    // A new master has no sessions: a worker is Online again when it says hello.
    if (actor.getSnapshot().value === "Online") actor.send({ type: "offline" });
    this.workerChanged(hostname);
  }

  #spawnDevice(info: DeviceInfo): void {
    this.#setSchedulerDevice(info);
    const restore = this.o.host.restored("device", info.hostname);
    const stored = DeviceHealth.name(info.storedHealth);
    const actor = this.o.registry.spawnDevice(info.hostname, stored, restore);
    // An admin's change made in the database while the master was stopped wins.
    if (restore && actor.getSnapshot().context.health !== stored) {
      actor.send({ type: "health", health: stored, reason: "changed in the database while the master was stopped" });
    }
    this.deviceChanged(info.hostname);
  }

  #setSchedulerDevice(info: DeviceInfo): void {
    this.o.scheduler.setDevice({
      hostname: info.hostname,
      deviceType: info.deviceType,
      worker: info.worker,
      tags: new Set(info.tags),
    });
  }
}
