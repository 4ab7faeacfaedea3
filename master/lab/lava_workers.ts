/**
 * LAVA's own workers (`lava-worker`, 2020.09 and later) in a Basalt lab. They
 * speak LAVA's HTTP worker API instead of Basalt's mailbox: they poll with
 * their token, fetch each job's files, run `lava-run`, which posts the job's
 * log in LAVA's batches, and report the job's state. This module answers them
 * (master/http/lava_worker_api.ts reads the requests) by turning what they say
 * into what a Basalt worker says through the mailbox — the same WorkerLink, the
 * same job and worker actors, the same journal — so the rest of the lab cannot
 * tell which kind of worker ran a job.
 *
 * No polling is waited for: a job scheduled or cancelled on a LAVA worker, and
 * a job whose `lava-run` has logged its last line, wake the worker through
 * LAVA's event WebSocket (the worker pings at once when a `testjob` frame names
 * it). A poll itself is answered at once: holding it would hold back the check
 * of finished jobs that lava-worker only makes after each ping.
 */
import type { Kysely, Transaction } from "kysely";
import { parse as parseYaml } from "yaml";
import { BOOT_SCHEMAS, DEPLOY_SCHEMAS } from "../../actors/definitions/action_schemas.ts";
import { type Capabilities, TEST_KINDS } from "../../actors/definitions/methods.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import { type JobLogLine, type JobStart, LOG_LEVELS } from "../../actors/lab/protocol.ts";
import type { DeliveryScope } from "../../actors/mailbox/endpoint.ts";
import type { JobContext } from "../../actors/machines/job.ts";
import type { Committer } from "../../actors/runtime/committer.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { Database } from "../storage/schema.ts";
import { storableText } from "../storage/storable.ts";
import { generateToken, hashToken } from "../storage/users.ts";
import type { Catalog } from "./catalog.ts";
import type { ActorRegistry } from "./registry.ts";
import { WORKER_NAME, workerSessionRefusal } from "./worker_admission.ts";
import type { WorkerLink } from "./worker_link.ts";

type Tx = Transaction<Database>;

/** LAVA's server marks a worker Offline after three missed pings (lava-scheduler's PING_TIMEOUT). */
export const LAVA_PING_TIMEOUT_MS = 60_000;
/** The first LAVA release whose worker speaks this HTTP API. */
const OLDEST_LAVA_WORKER = "2020.09";
/** lava-run sends at most this many records a batch (lava_common/log.py). */
const MAX_RECORDS = 1000;
/**
 * After a job's last log line, the worker is woken at these delays until it reports the job finished: lava-run
 * exits some 50-150 ms after its last post, and lava-worker notices only when it next checks. A wake costs a ping.
 */
const END_WAKES_MS = [40, 80, 120, 160, 200, 300, 400, 600, 1000, 2000, 5000, 10_000];

/** What every LAVA dispatcher runs: every method of LAVA's job schema. */
export const LAVA_DISPATCHER_CAPABILITIES: Capabilities = {
  deploy: Object.keys(DEPLOY_SCHEMAS),
  boot: Object.keys(BOOT_SCHEMAS),
  // Named as a job's test actions ask for them (methods.ts), a docker test among them; a reservation is Basalt's own.
  test: [...TEST_KINDS.filter((kind) => kind !== "reservation"), "docker"],
};

/** An answer in LAVA's shape: a JSON body (`{"error": ...}` when refused) and its status. */
export interface LavaAnswer {
  readonly status: 200 | 400 | 403 | 404 | 409 | 500;
  readonly body: Record<string, unknown>;
}

/** A frame that wakes a LAVA worker: LAVA's `testjob` event, naming only the worker and why. */
export interface LavaWake {
  readonly worker: string;
  readonly state: "Scheduled" | "Canceling";
}

export interface LavaWorkersOptions {
  readonly db: Kysely<Database>;
  readonly registry: ActorRegistry;
  readonly catalog: Catalog;
  readonly link: WorkerLink;
  readonly committer: Committer<Tx>;
  /** A LAVA worker the catalog does not know yet (added while the master ran): it joins the lab. */
  readonly registerWorker: (hostname: string) => void;
  readonly logger: Logger;
}

/** Reads the request's form: only once the token has been checked, so no stranger's body is read. */
export type FormReader = () => Promise<Record<string, string>>;

const refused = (status: LavaAnswer["status"], error: string): LavaAnswer => ({ status, body: { error } });

/** Compares two equal-length hex digests without stopping at the first difference. */
function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Whether a LAVA worker of this version ("2023.01", "2023.01.0042.gdeadbeef") speaks the HTTP worker API. */
export function speaksWorkerApi(version: string): boolean {
  const release = /^(\d{4}\.\d{2})(?:\D|$)/.exec(version)?.[1];
  return release !== undefined && release >= OLDEST_LAVA_WORKER;
}

/**
 * One record of a LAVA log batch (`{"dt": ..., "lvl": ..., "msg": ...}` as YAML flow), or why it is not one.
 * LAVA writes one record per line.
 */
export function parseLavaLogRecord(text: string): JobLogLine | string {
  let value: unknown;
  try {
    value = parseYaml(text.startsWith("- ") ? text.slice(2) : text, { maxAliasCount: 0 });
  } catch (error) {
    return `not YAML: ${error instanceof Error ? error.message.split("\n")[0] : error}`;
  }
  if (!isMapping(value)) return "not a mapping";
  const { dt, lvl, msg } = value as Record<string, unknown>;
  if (typeof dt !== "string" || dt.length > 64) return "dt must be a time";
  if (!LOG_LEVELS.includes(lvl as JobLogLine["lvl"])) {
    return `lvl ${JSON.stringify(String(lvl).slice(0, 40))} is not a log level`;
  }
  // lava-run writes UTC times without a zone.
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(dt) ? dt : `${dt}Z`;
  return { dt: zoned, lvl: lvl as JobLogLine["lvl"], msg: msg ?? null };
}

export class LavaWorkers {
  readonly #o: LavaWorkersOptions;
  readonly #log: Logger;
  /** Start messages of jobs scheduled on LAVA workers, until they end; after a restart, read back from the database. */
  readonly #starts = new Map<number, JobStart>();
  /** The `lava` suite's `job` result each job logged last: its error message is the job's. */
  readonly #jobResults = new Map<number, Record<string, unknown>>();
  readonly #offlineTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #endTimers = new Map<number, ReturnType<typeof setTimeout>[]>();
  readonly #wakeListeners = new Set<(wake: LavaWake) => void>();
  /** job id → its token, per worker token hash (an HMAC: nothing to store, the same after a restart). */
  readonly #jobTokens = new Map<string, string>();

  constructor(options: LavaWorkersOptions) {
    this.#o = options;
    this.#log = options.logger.with({ component: "lava-workers" });
  }

  /** Whether this worker speaks LAVA's HTTP API (it has a LAVA token). */
  isLava(hostname: string | undefined): boolean {
    return hostname !== undefined && Boolean(this.#o.catalog.workers.get(hostname)?.lavaTokenHash);
  }

  // --- what the lab asks of LAVA workers ------------------------------------------------

  /** The job actor's `dispatch` for a LAVA worker: the start waits for the worker's poll, which is asked for now. */
  dispatch(context: JobContext, start: JobStart): void {
    this.#starts.set(Number(start.job), start);
    if (context.worker) this.#wake({ worker: context.worker, state: "Scheduled" });
  }

  /** The job actor's `sendCancel`: the worker learns it at its next poll, which is asked for now. */
  cancel(context: JobContext): void {
    if (context.worker) this.#wake({ worker: context.worker, state: "Canceling" });
  }

  /** Calls `listener` for every wake-up; returns the unsubscribe function. */
  onWake(listener: (wake: LavaWake) => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  /** A job left the lab (Finished): what was kept for it goes. */
  jobEnded(id: number): void {
    this.#starts.delete(id);
    this.#jobResults.delete(id);
    for (const timer of this.#endTimers.get(id) ?? []) clearTimeout(timer);
    this.#endTimers.delete(id);
  }

  close(): void {
    for (const timer of this.#offlineTimers.values()) clearTimeout(timer);
    for (const timers of this.#endTimers.values()) for (const timer of timers) clearTimeout(timer);
    this.#offlineTimers.clear();
    this.#endTimers.clear();
  }

  #wake(wake: LavaWake): void {
    for (const listener of this.#wakeListeners) {
      try {
        listener(wake);
      } catch {
        this.#wakeListeners.delete(listener);
      }
    }
  }

  // --- the worker API -----------------------------------------------------------------

  /**
   * `GET /scheduler/internal/v1/workers/NAME/?version=V`: the worker is Online, and learns which of its jobs to
   * start, cancel and keep running.
   */
  async ping(name: string, token: string | undefined, version: string | undefined): Promise<LavaAnswer> {
    const hash = await this.#workerHash(name);
    if (hash === undefined) return refused(404, `Unknown worker '${name}'`);
    if (token === undefined) return refused(400, "Missing 'token'");
    if (hash === null || !sameDigest(await hashToken(token), hash)) {
      this.#log.warning("a LAVA worker's ping had a wrong token; refused", { worker: name });
      return refused(400, "Invalid 'token'");
    }
    if (version === undefined) return refused(400, "Missing 'version'");
    if (!speaksWorkerApi(version)) {
      this.#log.warning("a LAVA worker too old for the HTTP worker API pinged; refused", { worker: name, version });
      this.#o.registry.worker(name)?.send({ type: "offline" });
      return refused(
        409,
        `Version mismatch '${storableText(version).slice(0, 64)}' vs '${OLDEST_LAVA_WORKER} or later'`,
      );
    }
    this.#seen(name, storableText(version).slice(0, 64));
    const lists = { cancel: [] as unknown[], running: [] as unknown[], start: [] as unknown[] };
    const { registry } = this.#o;
    for (const id of registry.jobIds()) {
      const job = registry.jobSnapshot(id);
      if (job?.context.worker !== name) continue;
      const list = job.state === "Scheduled"
        ? lists.start
        : job.state === "Canceling"
        ? lists.cancel
        : job.state === "Running"
        ? lists.running
        : undefined;
      list?.push({ id, token: await this.#jobToken(hash, id) });
    }
    return { status: 200, body: lists };
  }

  /** The worker answered: Online (again), and Offline if it falls silent for three ping intervals. */
  #seen(name: string, version: string): void {
    const worker = this.#o.registry.workerSnapshot(name);
    if (worker && (worker.state !== "Online" || worker.context.version !== version)) {
      this.#o.registry.worker(name)?.send({
        type: "online",
        version,
        jobLimit: 0,
        capabilities: LAVA_DISPATCHER_CAPABILITIES,
      });
    }
    this.#armOffline(name);
  }

  #armOffline(name: string): void {
    clearTimeout(this.#offlineTimers.get(name));
    this.#offlineTimers.set(
      name,
      setTimeout(() => {
        this.#offlineTimers.delete(name);
        this.#log.info("a LAVA worker stopped pinging; it is Offline", { worker: name });
        this.#o.registry.worker(name)?.send({ type: "offline" });
      }, LAVA_PING_TIMEOUT_MS),
    );
  }

  /** `GET /scheduler/internal/v1/jobs/ID/`: the job's definition, device, dispatcher and environment files. */
  async jobFiles(id: number, token: string | undefined): Promise<LavaAnswer> {
    const checked = await this.#checkJob(id, token);
    if ("status" in checked) return checked;
    if (!checked.active) return refused(404, `Job '${id}' has ended`);
    const start = this.#starts.get(id) ?? await this.#storedStart(id);
    if (!start) return refused(404, `Unknown job '${id}'`);
    const worker = this.#o.catalog.workers.get(checked.worker);
    return {
      status: 200,
      body: {
        definition: start.definition,
        device: start.device,
        dispatcher: start.dispatcher ?? "",
        env: worker?.env ?? "",
        "env-dut": start.envDut ?? "",
      },
    };
  }

  /** A start as it was sent, from the database, for a job scheduled before the master restarted. */
  async #storedStart(id: number): Promise<JobStart | undefined> {
    const row = await this.#o.db.selectFrom("test_jobs")
      .innerJoin("job_run_files", "job_run_files.job_id", "test_jobs.id")
      .select(["test_jobs.definition", "job_run_files.device", "job_run_files.dispatcher", "job_run_files.env_dut"])
      .where("test_jobs.id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    return {
      job: String(id),
      definition: row.definition,
      device: row.device,
      dispatcher: row.dispatcher,
      envDut: row.env_dut,
    };
  }

  /** `POST /scheduler/internal/v1/jobs/ID/`: the job is Running, or Finished with its result. */
  async jobState(id: number, token: string | undefined, readForm: FormReader): Promise<LavaAnswer> {
    const checked = await this.#checkJob(id, token);
    if ("status" in checked) return checked;
    const form = await readForm();
    // A job that has already ended here (cancelled before it started, failed by an admin): the report is late.
    if (!checked.active) return { status: 200, body: {} };
    const raw = form.state ?? "";
    const state = raw.charAt(0).toUpperCase() + raw.slice(1).toLowerCase();
    if (state === "Running") {
      await this.#deliver(checked.worker, { kind: "job.started", body: { job: String(id) } });
      return { status: 200, body: {} };
    }
    if (state !== "Finished") {
      const known = ["Submitted", "Scheduling", "Scheduled", "Canceling"].includes(state);
      return refused(400, `${known ? "Not handled" : "Invalid"} state '${storableText(raw).slice(0, 64)}'`);
    }
    const result = form.result ?? "";
    if (result !== "pass" && result !== "fail") {
      return refused(400, `Invalid health '${storableText(result).slice(0, 64)}'`);
    }
    const logged = this.#jobResults.get(id);
    const loggedMessage = typeof logged?.error_msg === "string" ? logged.error_msg : undefined;
    const stderr = (form.errors ?? "").trim();
    const errorMsg = result === "pass" ? undefined : loggedMessage ?? (stderr ? stderr.slice(-4000) : undefined);
    await this.#deliver(checked.worker, {
      kind: "job.finished",
      body: {
        job: String(id),
        result,
        ...(result === "fail" && form.error_type ? { errorType: form.error_type.slice(0, 100) } : {}),
        ...(errorMsg !== undefined ? { errorMsg } : {}),
        ...(form.description ? { description: form.description } : {}),
      },
    });
    this.jobEnded(id);
    return { status: 200, body: {} };
  }

  /** `POST /scheduler/internal/v1/jobs/ID/logs/`: a batch of `lava-run`'s log from line `index` on. */
  async jobLogs(id: number, token: string | undefined, readForm: FormReader): Promise<LavaAnswer> {
    const checked = await this.#checkJob(id, token);
    if ("status" in checked) return checked;
    const form = await readForm();
    const text = form.lines;
    if (!text) return refused(400, "Missing 'lines'");
    // Lines of a job that has already ended are not its log any more: taken, so lava-run does not resend them.
    if (!checked.active) return { status: 200, body: { line_count: text.split("\n").filter((r) => r.trim()).length } };
    if (form.index === undefined) return refused(400, "Missing 'index'");
    if (!/^\d{1,10}$/.test(form.index.trim())) return refused(400, "Invalid 'index'");
    const index = Number(form.index.trim());
    const rows = text.split("\n").filter((row) => row.trim() !== "");
    if (rows.length > MAX_RECORDS) return refused(400, `Invalid 'lines': more than ${MAX_RECORDS} records`);
    const lines: JobLogLine[] = [];
    for (const [n, row] of rows.entries()) {
      const record = parseLavaLogRecord(row);
      if (typeof record === "string") {
        this.#log.warning("a LAVA job's log batch had a malformed record; the batch is refused", {
          job: id,
          record: index + n,
          problem: record,
        });
        return refused(400, `Invalid 'lines': record ${index + n}: ${record}`);
      }
      lines.push(record);
    }
    for (const line of lines) {
      const msg = line.msg;
      if (line.lvl === "results" && isMapping(msg) && msg.definition === "lava" && msg.case === "job") {
        this.#jobResults.set(id, msg as Record<string, unknown>);
        this.#wakeAfterEnd(id, checked.worker);
      }
    }
    await this.#deliver(checked.worker, { kind: "job.log", body: { job: String(id), from: index, lines } });
    return { status: 200, body: { line_count: lines.length } };
  }

  /**
   * `POST /scheduler/internal/v1/workers/`: a new worker asks for its token. Allowed from this machine without
   * credentials (LAVA's WORKER_AUTO_REGISTER_NETMASK), and from anywhere with an administrator's name and password.
   */
  async register(
    form: Record<string, string>,
    local: boolean,
    administrator: (username: string, password: string) => Promise<boolean>,
  ): Promise<LavaAnswer> {
    const name = form.name;
    if (name === undefined) return refused(400, "Missing 'name'");
    if (!WORKER_NAME.test(name)) return refused(400, "Invalid 'name'");
    const { username, password } = form;
    let by: string;
    if (username && password) {
      if (!(await administrator(username, password))) return refused(403, `Unknown user ${username.slice(0, 150)}`);
      by = username;
    } else if (local) {
      // The same bound as a worker registering itself through the mailbox without a key.
      const refusal = this.#o.catalog.workers.has(name)
        ? undefined
        : workerSessionRefusal(this.#o.catalog, name, false);
      if (refusal) return refused(403, refusal);
      by = "this machine";
    } else {
      return refused(403, "Auto registration is forbidden for this address");
    }
    if (this.#o.catalog.workers.has(name)) return refused(403, `Worker '${name}' already registered`);
    const token = generateToken(32);
    const hash = await hashToken(token);
    const inserted = await this.#o.db.insertInto("workers")
      .values({ hostname: name, description: `Auto registered by ${by}`, lava_token_hash: hash })
      .onConflict((oc) => oc.doNothing()).returning("hostname").executeTakeFirst();
    if (!inserted) return refused(403, `Worker '${name}' already registered`);
    this.#log.info("a LAVA worker registered itself", { worker: name, by });
    await this.#workerHash(name);
    return { status: 200, body: { name, token } };
  }

  // --- helpers ------------------------------------------------------------------------------

  /**
   * The worker's token hash as stored now (a change by `manage` reaches a running master at the next ping);
   * null for a mailbox worker, undefined for no such worker.
   */
  async #workerHash(name: string): Promise<string | null | undefined> {
    const row = await this.#o.db.selectFrom("workers").select("lava_token_hash").where("hostname", "=", name)
      .executeTakeFirst();
    if (!row) return undefined;
    const { catalog } = this.#o;
    if (!catalog.workers.has(name)) this.#o.registerWorker(name);
    const info = catalog.workers.get(name);
    if (info && info.lavaTokenHash !== row.lava_token_hash) {
      catalog.workers.set(name, { ...info, lavaTokenHash: row.lava_token_hash });
    }
    return row.lava_token_hash;
  }

  /** A job's token: what `lava-run` and the worker send for it; only its own worker's token can make it. */
  async #jobToken(workerHash: string, id: number): Promise<string> {
    const key = `${workerHash}:${id}`;
    const known = this.#jobTokens.get(key);
    if (known) return known;
    const hmacKey = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(workerHash),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(`job:${id}`));
    const token = Array.from(new Uint8Array(mac).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
    if (this.#jobTokens.size > 10_000) this.#jobTokens.clear();
    this.#jobTokens.set(key, token);
    return token;
  }

  /**
   * The job exists here, ran on a LAVA worker, and `token` is its token: LAVA's checks and answers, in order.
   * `active` is false for a job that has already ended (cancelled, failed by an admin, or reported twice).
   */
  async #checkJob(id: number, token: string | undefined): Promise<{ worker: string; active: boolean } | LavaAnswer> {
    const job = this.#o.registry.jobSnapshot(id);
    let worker = job?.context.worker;
    if (!job) {
      const stored = await this.#o.db.selectFrom("test_jobs")
        .leftJoin("devices", "devices.hostname", "test_jobs.actual_device")
        .select("devices.worker_hostname").where("test_jobs.id", "=", id).executeTakeFirst();
      if (!stored) return refused(404, `Unknown job '${id}'`);
      worker = stored.worker_hostname ?? undefined;
    }
    if (token === undefined) return refused(400, "Missing 'token'");
    const hash = worker ? this.#o.catalog.workers.get(worker)?.lavaTokenHash : undefined;
    if (!worker || !hash || !sameDigest(token, await this.#jobToken(hash, id))) {
      this.#log.warning("a request for a LAVA job had a wrong token; refused", { job: id });
      return refused(400, "Invalid 'token'");
    }
    return { worker, active: job !== undefined };
  }

  /** Hands a message to the WorkerLink as if it came through the mailbox; resolves once what it wrote is durable. */
  async #deliver(
    worker: string,
    message:
      | { kind: "job.started"; body: { job: string } }
      | { kind: "job.log"; body: { job: string; from: number; lines: JobLogLine[] } }
      | {
        kind: "job.finished";
        body: {
          job: string;
          result: "pass" | "fail";
          errorType?: string;
          errorMsg?: string;
          description?: string;
        };
      },
  ): Promise<void> {
    const writes: Promise<void>[] = [];
    const scope: DeliveryScope<Tx> = {
      journal: (work) => {
        writes.push(new Promise<void>((resolve) => this.#o.committer.stage((batch) => batch.work.push(work), resolve)));
      },
    };
    this.#o.link.deliver({ peer: worker, to: `job/${message.body.job}`, ...message }, scope);
    await Promise.all(writes);
    await this.#o.committer.flush();
  }

  /** lava-run has logged its last line: its worker notices the process ended at its next check, asked for now. */
  #wakeAfterEnd(id: number, worker: string): void {
    if (this.#endTimers.has(id)) return;
    this.#endTimers.set(
      id,
      END_WAKES_MS.map((ms) => setTimeout(() => this.#wake({ worker, state: "Scheduled" }), ms)),
    );
  }
}
