/**
 * The message that starts a job on its worker, prepared from what the master
 * stored: the definition (a MultiNode sub-job's with its group's roles filled
 * in), the device's rendered configuration, the worker's dispatcher
 * configuration (with the coordinator's address for MultiNode) and its
 * `env-dut.yaml`. Pure: rendering is passed in, nothing is read or sent here.
 */
import { parse as parseYaml, stringify } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { lavaJson, type LoadedYaml, loadYaml } from "../../actors/definitions/yaml.ts";
import { type JobStart, labProtocol } from "../../actors/lab/protocol.ts";
import { encodeBody, MAX_BODY_BYTES } from "../../actors/mailbox/envelope.ts";
import { isProblem } from "../../actors/mailbox/protocol.ts";
import type { WorkerInfo } from "./catalog.ts";

export interface JobStartInput {
  readonly job: number;
  readonly definition: string;
  /** For a MultiNode sub-job: every member's job id → role, as the dispatcher's `roles`. */
  readonly roles?: Readonly<Record<string, string>>;
  /** Renders the device's configuration with the job's context; throws when it cannot. */
  readonly render: (context: Record<string, unknown>) => string;
  readonly worker?: Pick<WorkerInfo, "dispatcherConfig" | "envDut">;
  readonly coordinator?: { readonly host: string; readonly port: number };
  /**
   * A MultiNode secondary connection: it runs with its host role's device configuration, but without the device's
   * commands — it never powers, resets or opens the console of the device the host role's job owns.
   */
  readonly connection?: boolean;
}

export function prepareJobStart(input: JobStartInput): JobStart {
  const parsed = parseYaml(input.definition) as Record<string, unknown>;
  const context = isMapping(parsed?.context) ? parsed.context as Record<string, unknown> : {};
  // The job as the dispatcher reads it (LAVA's YAML), handed over as JSON (see `handedOver`).
  const job = loadYaml(input.definition);
  let coordinator: Record<string, unknown> = {};
  if (input.roles && job.errors.length === 0) {
    const protocol = ((job.value as Record<string, unknown>).protocols as Record<string, Record<string, unknown>>)[
      "lava-multinode"
    ];
    protocol.roles = { ...input.roles };
    if (input.coordinator) {
      coordinator = { coordinator_hostname: input.coordinator.host, coordinator_port: input.coordinator.port };
    }
  }
  const definition = handedOver(job, input.definition, input.roles !== undefined);
  const rendered = input.render(context);
  const device = loadYaml(rendered);
  if (input.connection && isMapping(device.value)) delete device.value.commands;
  const deviceYaml = handedOver(device, rendered, input.connection === true);
  const dispatcher = input.worker?.dispatcherConfig ?? "";
  const dispatcherText = Object.keys(coordinator).length === 0 ? dispatcher : stringify({
    ...(isMapping(parseYaml(dispatcher || "{}")) ? parseYaml(dispatcher || "{}") : {}),
    ...coordinator,
  });
  return {
    job: String(input.job),
    definition,
    device: deviceYaml,
    ...(dispatcherText ? { dispatcher: dispatcherText } : {}),
    ...(input.worker?.envDut ? { envDut: input.worker.envDut } : {}),
  };
}

/**
 * What a worker is handed for its dispatcher: the value the dispatcher would read
 * from the YAML text, as canonical JSON — a dispatch process starts per job, and
 * reading JSON spares it the YAML parser (`loadYaml` reads such text with
 * `JSON.parse`); this long-running process parses YAML far faster. Text JSON
 * cannot carry exactly stays YAML: `changed` text written anew, other text as it
 * came.
 */
function handedOver(loaded: LoadedYaml, text: string, changed: boolean): string {
  if (loaded.errors.length > 0) return text;
  return lavaJson(loaded.value) ?? (changed ? stringify(loaded.value) : text);
}

/**
 * Why `start` cannot go to a worker, or undefined: what the worker would refuse
 * is never sent, or the job would wait for it on its device for ever.
 */
export function startProblem(start: JobStart): string | undefined {
  const checked = labProtocol.parsers["job.start"](start);
  if (isProblem(checked)) return checked.problem;
  const json = encodeBody(start);
  // At most 3 UTF-8 bytes per UTF-16 unit: most messages need no counting.
  if (json.length * 3 > MAX_BODY_BYTES) {
    const bytes = new TextEncoder().encode(json).length;
    if (bytes > MAX_BODY_BYTES) {
      return `a job.start message of ${bytes} bytes is larger than a mailbox carries (${MAX_BODY_BYTES} bytes)`;
    }
  }
  return undefined;
}
