/**
 * A whole lab for tests: a real master (in this process, on a fresh embedded
 * database, every socket on 127.0.0.1 with a free port), an admin with a token,
 * and real workers (in this process) whose devices are the QEMU DUT or the
 * simulated board. Everything started here is stopped by `close()`.
 */
import type { CurveServerOptions } from "../../actors/mailbox/endpoint.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import type { LabEvent } from "../../master/lab/events.ts";
import { addLabDevice } from "../../master/lab/admin/devices.ts";
import { addLabDeviceType } from "../../master/lab/admin/device_types.ts";
import { addLabWorker } from "../../master/lab/admin/workers.ts";
import { type RunningMaster, startMaster } from "../../master/master.ts";
import { addUser, hashToken, issueToken } from "../../master/storage/users.ts";
import { setLavaTokenHash } from "../../master/storage/workers.ts";
import type { StorageTarget } from "../../master/storage/target.ts";
import { type RunningWorker, startWorker } from "../../worker/worker.ts";
import { DUT_DIR } from "./dut.ts";

export interface TestLab {
  readonly master: RunningMaster;
  readonly dir: string;
  readonly token: string;
  readonly workers: Map<string, RunningWorker>;
  /** Every event the lab published since it started, in order. */
  readonly events: LabEvent[];
  /** Calls the JSON API as the admin. */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  addWorker(name: string, options?: { jobLimit?: number; start?: boolean }): Promise<RunningWorker | undefined>;
  /** Adds a worker that joins through LAVA's HTTP worker API with this token (lava-worker's `--token`). */
  addLavaWorker(name: string, token: string): Promise<void>;
  /** Stops the master and starts a new one on the same database, HTTP port and mailbox endpoint. */
  restartMaster(): Promise<void>;
  startWorker(name: string, jobLimit?: number): Promise<RunningWorker>;
  addDevice(
    hostname: string,
    deviceType: string,
    worker: string,
    dictionary: string,
    options?: { tags?: string[]; health?: string },
  ): Promise<void>;
  close(): Promise<void>;
}

export async function startTestLab(
  options: {
    heartbeatMs?: number;
    coordinator?: { host: string; port: number };
    curve?: CurveServerOptions;
    /** The workers' dispatcher configuration (dispatcher.yaml), when the test needs one. */
    dispatcherConfig?: string;
    /** Directories the workers serve file:// URLs from besides the device image's. */
    fileDirs?: readonly string[];
  } = {},
): Promise<TestLab> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-lab-" });
  const logger = createLogger({ process: "master", level: "error" });
  const masterOptions = (http: number, zmq: string) => ({
    storage: { kind: "pglite", dataDir: `${dir}/data` } as const,
    http: { hostname: "127.0.0.1", port: http },
    zmq,
    events: "tcp://127.0.0.1:*",
    heartbeatMs: options.heartbeatMs ?? 200,
    coordinator: options.coordinator,
    curve: options.curve,
    logger,
  });
  let master = await startMaster(masterOptions(0, "tcp://127.0.0.1:*"));
  const LAB_ADMIN = await addUser(master.storage.db, { username: "admin", superuser: true });
  const { token } = await issueToken(master.storage.db, "admin");
  const workers = new Map<string, RunningWorker>();
  const events: LabEvent[] = [];
  master.lab.events.subscribe((event) => events.push(event));
  const lab: TestLab = {
    get master() {
      return master;
    },
    dir,
    token,
    workers,
    events,
    async api(method, path, body) {
      const response = await fetch(`${master.url}${path}`, {
        method,
        headers: {
          Authorization: `Token ${token}`,
          ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* text */ }
      return { status: response.status, body: parsed as never };
    },
    async startWorker(name, jobLimit = 0) {
      const worker = await startWorker({
        name,
        masters: [master.zmq],
        stateDir: `${dir}/worker-${name}`,
        fileDirs: [DUT_DIR, ...(options.fileDirs ?? [])],
        jobLimit,
        cancelGraceMs: 20_000,
        dispatcherConfig: options.dispatcherConfig,
        environment: Deno.env.toObject(),
        heartbeatMs: options.heartbeatMs ?? 200,
        logger: createLogger({ process: name, level: "error" }),
      });
      workers.set(name, worker);
      return worker;
    },
    async addLavaWorker(name, lavaToken) {
      await addLabWorker(master.lab, LAB_ADMIN, name, "", 0);
      await setLavaTokenHash(master.storage.db, name, await hashToken(lavaToken));
    },
    async restartMaster() {
      const port = Number(new URL(master.url).port);
      const zmq = master.zmq;
      await master.close();
      master = await startMaster(masterOptions(port, zmq));
      master.lab.events.subscribe((event) => events.push(event));
    },
    async addWorker(name, opts = {}) {
      await addLabWorker(master.lab, LAB_ADMIN, name, "", opts.jobLimit ?? 0);
      if (opts.start === false) return undefined;
      return await lab.startWorker(name, 0);
    },
    async addDevice(hostname, deviceType, worker, dictionary, opts = {}) {
      if (!master.lab.catalog.deviceTypes.has(deviceType)) {
        await addLabDeviceType(master.lab, LAB_ADMIN, { name: deviceType });
      }
      await addLabDevice(master.lab, LAB_ADMIN, {
        hostname,
        deviceType,
        worker,
        dictionary,
        tags: opts.tags,
        health: opts.health ?? "Good",
      });
    },
    async close() {
      for (const worker of workers.values()) await worker.close().catch(() => {});
      await master.close();
      // Dispatch processes outlive workers by design: stop any left by a failed test.
      await new Deno.Command("pkill", { args: ["-f", `--output-dir ${dir}/`] }).output();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  return lab;
}

/** A QEMU device's dictionary (Basalt's qemu template, the small DUT). */
export const QEMU_DICTIONARY = "{% extends 'qemu.jinja2' %}\n{% set memory = 256 %}\n";

/** Resolves with the first event, past or to come, about `job` that matches. */
export function waitForJob(
  lab: TestLab,
  job: string,
  predicate: (data: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const seen = lab.events.find((e) => e.kind === "testjob" && e.data.job === job && predicate(e.data));
  if (seen) return Promise.resolve(seen.data);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`job ${job}: no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = lab.master.lab.events.subscribe((event) => {
      if (event.kind === "testjob" && event.data.job === job && predicate(event.data)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(event.data);
      }
    });
  });
}

/** A master in this process on `storage`, its lab directory under `dir`, on free ports, logging nothing. */
export async function startQuietMaster(storage: StorageTarget, dir: string): Promise<RunningMaster> {
  return await startMaster({
    storage,
    labDir: `${dir}/lab`,
    http: { hostname: "127.0.0.1", port: 0 },
    zmq: "tcp://127.0.0.1:*",
    events: "tcp://127.0.0.1:*",
    heartbeatMs: 200,
    logger: createLogger({ process: "master", level: "error", write: () => {} }),
  });
}
