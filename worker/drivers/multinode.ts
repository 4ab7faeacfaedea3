/**
 * A MultiNode sub-job's side of the coordinator, as LAVA's dispatcher does it:
 * `group_data` when the job starts (every sub-job waits for the whole group),
 * the device's `lava-send`/`lava-wait`/`lava-wait-all`/`lava-sync` markers
 * relayed as requests and answered on the serial line with LAVA's
 * `<LAVA_..._COMPLETE ...>` lines, and `clear_group` at the end.
 *
 * It speaks the coordinator's protocol as LAVA's clients do — and works with
 * LAVA's coordinator — but asks to be held (`hold_ms`), so with Basalt's
 * coordinator an answer arrives the moment it exists instead of a poll later.
 */
import { MAX_TIMER_MS } from "../../actors/definitions/timeouts.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import { encodeFrame, readFrame } from "../../actors/multinode/frame.ts";
import { pythonJson } from "../../actors/multinode/python_json.ts";
import { JobError, MultinodeProtocolTimeoutError } from "../job/errors.ts";
import type { JobLog } from "../job/log.ts";

/** LAVA's time for the group to assemble (`group_data`) and to clear. */
export const SYSTEM_TIMEOUT_S = 90;
/** LAVA's default for an API call when the protocol names no timeout. */
export const DEFAULT_API_TIMEOUT_S = 30;
/** How long one held request may wait at the coordinator. */
const HOLD_MS = 20_000;

export const MULTINODE_MARKER = /<LAVA_MULTI_NODE> <LAVA_(\S+) ([^>]+)>/;

export interface CoordinatorSettings {
  readonly host: string;
  readonly port: number;
  readonly pollDelayS: number;
}

export interface SubJobInfo {
  readonly jobId: string;
  readonly group: string;
  readonly role: string;
  readonly groupSize: number;
  /** Job id → role, as the master wrote it into the sub-job. */
  readonly roles: ReadonlyMap<string, string>;
  /** The API calls' timeout, from the protocol block. */
  readonly apiTimeoutS: number;
  /** A delayed start: wait for this role's `lava_start` before running. */
  readonly expectRole?: string;
  readonly startTimeoutS?: number;
}

type Reply = { response: string; message?: unknown; roles?: unknown; error?: unknown };

/** The sub-job's MultiNode settings, when the job is one. */
export function subJobInfo(
  job: Record<string, unknown>,
  jobId: string,
  timeoutSeconds: (v: unknown) => number | undefined,
): SubJobInfo | undefined {
  const protocols = isMapping(job.protocols) ? job.protocols : undefined;
  const p = protocols && isMapping(protocols["lava-multinode"]) ? protocols["lava-multinode"] : undefined;
  if (!p || typeof p.target_group !== "string" || typeof p.role !== "string") return undefined;
  const roles = new Map<string, string>();
  if (isMapping(p.roles)) { for (const [id, role] of Object.entries(p.roles)) roles.set(id, String(role)); }
  return {
    jobId,
    group: p.target_group,
    role: p.role,
    groupSize: Number(p.group_size) || roles.size || 1,
    roles,
    apiTimeoutS: timeoutSeconds(p.timeout) ?? DEFAULT_API_TIMEOUT_S,
    ...(p.request === "lava-start" && typeof p.expect_role === "string" && p.expect_role !== p.role
      ? { expectRole: p.expect_role, startTimeoutS: timeoutSeconds(p.timeout) }
      : {}),
  };
}

/** Where the coordinator is: the dispatcher configuration, else LAVA's coordinator file, else localhost:3079. */
export function coordinatorSettings(dispatcher: Record<string, unknown>): CoordinatorSettings {
  let conf: Record<string, unknown> = {};
  try {
    conf = JSON.parse(Deno.readTextFileSync("/etc/lava-coordinator/lava-coordinator.conf"));
  } catch { /* none */ }
  return {
    host: String(dispatcher.coordinator_hostname ?? conf.coordinator_hostname ?? "localhost"),
    port: Number(dispatcher.coordinator_port ?? conf.port ?? 3079),
    pollDelayS: Number(dispatcher.coordinator_poll_delay ?? conf.poll_delay ?? 1),
  };
}

export class MultinodeClient {
  constructor(
    readonly settings: CoordinatorSettings,
    readonly info: SubJobInfo,
    private readonly log: JobLog,
  ) {}

  #base(): Record<string, unknown> {
    return {
      port: this.settings.port,
      blocksize: 4096,
      poll_delay: this.settings.pollDelayS,
      host: this.settings.host,
      hostname: Deno.hostname(),
      client_name: this.info.jobId,
      group_name: this.info.group,
      role: this.info.role,
    };
  }

  async #once(body: Record<string, unknown>, holdMs: number): Promise<Reply> {
    const conn = await Deno.connect({ hostname: this.settings.host, port: this.settings.port });
    try {
      await conn.write(encodeFrame(pythonJson({ ...body, hold_ms: holdMs })));
      await conn.closeWrite();
      const text = await readFrame(conn, { maxLength: 1 << 24 }).catch(() => "");
      if (text === "") return { response: "wait" };
      try {
        return JSON.parse(text);
      } catch {
        throw new JobError(`the coordinator answered with something that is not JSON: ${text.slice(0, 100)}`);
      }
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  /** One API call, asked again until it is not `wait`; a timeout raises MultinodeTimeout. */
  async request(fields: Record<string, unknown>, timeoutS: number, signal?: AbortSignal): Promise<Reply> {
    const body = { ...this.#base(), ...fields };
    const deadline = performance.now() + timeoutS * 1000;
    let retryDelayS = this.settings.pollDelayS;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new MultinodeProtocolTimeoutError(
          `protocol lava-multinode timed out (${fields.request} ${fields.messageID ?? ""})`,
        );
      }
      let reply: Reply;
      try {
        reply = await this.#once(body, Math.max(1, Math.min(HOLD_MS, left)));
      } catch (error) {
        if (error instanceof JobError) throw error;
        this.log.warning(
          `cannot reach the coordinator at ${this.settings.host}:${this.settings.port}: ${(error as Error).message}`,
        );
        await sleep(Math.min(retryDelayS * 1000, Math.max(0, deadline - performance.now())), signal);
        retryDelayS += 2;
        continue;
      }
      if (reply.response !== "wait") return reply;
      // A coordinator that does not hold (LAVA's) answers wait at once: poll as LAVA's clients do.
      await sleep(Math.min(this.settings.pollDelayS * 1000, Math.max(0, deadline - performance.now())), signal);
    }
  }

  async groupData(signal?: AbortSignal): Promise<void> {
    this.log.info(`MultiNode: waiting for the group ${this.info.group} (${this.info.groupSize} jobs) to start`);
    const joined = await this.request(
      { request: "group_data", group_size: this.info.groupSize },
      SYSTEM_TIMEOUT_S,
      signal,
    );
    if (joined.response === "nack") {
      throw new JobError(
        `MultiNode: the coordinator refused to add this job to group ${this.info.group}${why(joined)}`,
      );
    }
    if (this.info.expectRole) {
      this.log.info(`MultiNode: waiting for role ${this.info.expectRole} to send lava_start`);
      await this.request(
        { request: "lava_wait_all", messageID: "lava_start", waitrole: this.info.expectRole },
        this.info.startTimeoutS ?? SYSTEM_TIMEOUT_S,
        signal,
      );
    }
  }

  async clearGroup(): Promise<void> {
    await this.request({ request: "clear_group", group_size: this.info.groupSize }, 10).catch((error) =>
      this.log.warning(`MultiNode: clear_group failed: ${(error as Error).message}`)
    );
  }

  /**
   * Handles one device marker; returns the line to write back to the device (none
   * for lava-send) and the test case LAVA records for the call.
   */
  async handleMarker(api: string, params: string, signal?: AbortSignal): Promise<{ reply?: string; testCase: string }> {
    const name = api.toLowerCase();
    const [id, ...rest] = api === "SEND" ? params.split(/\s+(?=\w+=)/) : params.trim().split(/\s+/);
    const testCase = `multinode-${name}-${id}`.toLowerCase();
    const timeout = this.info.apiTimeoutS;
    switch (api) {
      case "SEND": {
        const message: Record<string, string> = {};
        for (const pair of rest) {
          const parts = pair.split("=");
          if (parts.length === 2) message[parts[0]] = parts[1].trimEnd();
        }
        const reply = await this.request({ request: "lava_send", messageID: id, message }, timeout, signal);
        if (reply.response === "nack") {
          throw new JobError(`the coordinator was unable to accept LAVA_SEND${why(reply)}`);
        }
        return { testCase };
      }
      case "SYNC": {
        const reply = await this.request({ request: "lava_sync", messageID: id }, timeout, signal);
        if (reply.response === "nack") this.log.warning(`MultiNode: lava-sync ${id} refused${why(reply)}`);
        return { reply: `<LAVA_SYNC_COMPLETE${reply.response === "nack" ? " nack" : ""}>`, testCase };
      }
      case "WAIT":
      case "WAIT_ALL": {
        const fields: Record<string, unknown> = api === "WAIT"
          ? { request: "lava_wait", messageID: id, nodeID: this.info.jobId }
          : { request: "lava_wait_all", messageID: id, ...(rest[0] ? { waitrole: rest[0] } : {}) };
        const reply = await this.request(fields, timeout, signal);
        let text = "";
        if (reply.response === "nack") {
          text = " nack";
          this.log.warning(`MultiNode: ${name} ${id} refused${why(reply)}`);
        } else if (isMapping(reply.message)) {
          for (const [sender, values] of Object.entries(reply.message)) {
            if (!isMapping(values)) continue;
            for (const [key, value] of Object.entries(values)) text += ` ${sender}:${key}=${value}`;
          }
        }
        return { reply: `<LAVA_${api}_COMPLETE${text}>`, testCase };
      }
      default:
        throw new JobError(`unsupported MultiNode call ${api}`);
    }
  }
}

/** The reason a coordinator gives with a `nack` (Basalt's says why; LAVA's does not), for messages. */
function why(reply: Reply): string {
  return typeof reply.error === "string" && reply.error !== "" ? `: ${reply.error.slice(0, 200)}` : "";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** The lines `lava-group`, `lava-role` and `lava-self` read on the device. */
export function multinodeOverlayFile(info: SubJobInfo): string {
  const q = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
  const group = [...info.roles].map(([id, role]) => `${id}\t${role}`).join("\n");
  return `TARGET_ROLE=${q(info.role)}\nLAVA_HOSTNAME=${q(info.jobId)}\nLAVA_GROUP=${q(group)}\n`;
}
