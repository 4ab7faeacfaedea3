/**
 * The message that starts a job on its worker, prepared from what the master
 * stored: the definition (a MultiNode sub-job's with its group's roles filled
 * in), the device's rendered configuration, the worker's dispatcher
 * configuration (with the coordinator's address for MultiNode) and its
 * `env-dut.yaml`. Pure: rendering is passed in, nothing is read or sent here.
 */
import { parse as parseYaml, stringify } from "yaml";
import { isMapping } from "../../actors/definitions/schema.ts";
import { lavaJson, loadYaml } from "../../actors/definitions/yaml.ts";
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
  let definition = input.definition;
  const parsed = parseYaml(input.definition) as Record<string, unknown>;
  const context = isMapping(parsed?.context) ? parsed.context as Record<string, unknown> : {};
  let coordinator: Record<string, unknown> = {};
  if (input.roles) {
    const protocol = (parsed.protocols as Record<string, Record<string, unknown>>)["lava-multinode"];
    protocol.roles = { ...input.roles };
    definition = stringify(parsed);
    if (input.coordinator) {
      coordinator = { coordinator_hostname: input.coordinator.host, coordinator_port: input.coordinator.port };
    }
  }
  const deviceYaml = input.connection ? withoutCommands(input.render(context)) : input.render(context);
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
 * The start as a Basalt worker is sent it: the job's definition and the device's
 * configuration as canonical JSON of what its dispatcher's YAML reading gives
 * (LAVA's YAML 1.1), which the dispatcher reads with `JSON.parse` — a dispatch
 * process starts per job, and this spares it the YAML parser, which this
 * long-running process runs far faster. Only for Basalt's dispatcher: LAVA's
 * `lava-run` reads YAML with PyYAML, whose values differ (`08`, `1:30`, `2.0`), so
 * LAVA's workers, the database and the pages keep the text. Text whose value JSON
 * cannot carry exactly is sent as it is, and the whole start as it was when the JSON
 * would not fit a message (expanded aliases).
 */
export function forBasaltDispatcher(start: JobStart): JobStart {
  const json = (text: string) => {
    const loaded = loadYaml(text);
    return loaded.errors.length > 0 ? text : lavaJson(loaded.value) ?? text;
  };
  const converted = { ...start, definition: json(start.definition), device: json(start.device) };
  return startProblem(converted) === undefined ? converted : start;
}

/** A device configuration without its `commands` (power, reset, console, users' commands). */
function withoutCommands(deviceYaml: string): string {
  const device = parseYaml(deviceYaml);
  if (!isMapping(device)) return deviceYaml;
  delete device.commands;
  return stringify(device);
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
