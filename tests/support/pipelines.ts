/**
 * Pipelines of LAVA's example jobs on LAVA's example devices, built by Basalt's
 * strategies, as rows (name, level, max_retries, timeout) to compare with the
 * descriptions LAVA itself gives for the same job and device.
 */
import { parse } from "yaml";
import { buildPipeline, type Pipeline, type PipelineAction } from "../../actors/definitions/pipeline.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { BUILTIN_TEMPLATES, renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import { STRATEGIES } from "../../worker/strategies/mod.ts";
import { exampleFiles, LAVA_EXAMPLES } from "./lava_examples.ts";

export type Row = readonly [name: string, level: string, maxRetries: number, timeout: number];

const LAVA = jinjaEnvironment([`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`]);

/** An example device (lava-examples/device-dicts) rendered for a job's context. */
export function exampleDevice(name: string, deviceType: string, context: unknown = {}): Record<string, unknown> {
  const dictionary = Deno.readTextFileSync(`${LAVA_EXAMPLES}device-dicts/${name}.jinja2`);
  return renderDevice(LAVA, {
    dictionary,
    name,
    hostname: name,
    deviceType,
    context: (context ?? {}) as Record<string, unknown>,
  }).config as Record<string, unknown>;
}

/**
 * A PC on one of Basalt's own templates, described as LAVA's examples describe theirs: a telnet console and a PDU
 * port for its power, and `extra` dictionary lines. Throws if the template reports an error.
 */
export function pcDevice(
  template: string,
  hostname: string,
  pduPort: string,
  telnetPort: number,
  extra: readonly string[] = [],
): Record<string, unknown> {
  const pdu = (command: string) => `'pduclient --port ${pduPort} --command ${command}'`;
  return templateDevice(template, hostname, [
    `{% set connection_command = 'telnet bumblebee ${telnetPort}' %}`,
    `{% set hard_reset_command = ${pdu("reboot")} %}`,
    `{% set power_off_command = ${pdu("off")} %}`,
    `{% set power_on_command = ${pdu("on")} %}`,
    ...extra,
  ]);
}

/** A device on one of Basalt's own templates with the dictionary `lines`. Throws if the template reports an error. */
export function templateDevice(template: string, hostname: string, lines: readonly string[]): Record<string, unknown> {
  const device = renderDevice(jinjaEnvironment([BUILTIN_TEMPLATES]), {
    dictionary: [`{% extends '${template}.jinja2' %}`, ...lines].join("\n"),
    name: hostname,
    hostname,
    deviceType: template,
  });
  if (device.errors.length > 0) throw new Error(`${template}: ${device.errors[0].message}`);
  return device.config as Record<string, unknown>;
}

/** An example job (lava-examples/jobs) as parsed YAML. */
export function exampleJob(name: string): Record<string, unknown> {
  return loadYaml(exampleFiles("jobs").find(([file]) => file === name)![2]).value as Record<string, unknown>;
}

/** The job's pipeline on the device, as this release's dispatcher builds it. */
export function pipelineOf(job: Record<string, unknown>, device: Record<string, unknown>): Pipeline {
  return buildPipeline(job, device, STRATEGIES);
}

/** Every action of a subtree, depth first, as rows. */
export function rows(actions: readonly PipelineAction[]): Row[] {
  return actions.flatMap((a) => [[a.name, a.level, a.maxRetries, a.timeout] as Row, ...rows(a.pipeline)]);
}

interface RefAction {
  name: string;
  level: string;
  max_retries: number;
  timeout: number;
  pipeline?: RefAction[];
}

/** The rows of a LAVA description (`pipeline:` of description.yaml, or a pipeline reference file). */
export function referenceRows(path: string): Row[] {
  const walk = (actions: RefAction[]): Row[] =>
    actions.flatMap((a) => [[a.name, String(a.level), a.max_retries, a.timeout] as Row, ...walk(a.pipeline ?? [])]);
  return walk(parse(Deno.readTextFileSync(path)) as RefAction[]);
}

/** The rows of top-level action `level` (and its subtree) among `all`. */
export function section(all: readonly Row[], level: string): Row[] {
  return all.filter(([, l]) => l === level || l.startsWith(`${level}.`));
}

/** LAVA's description of kvm.yaml on a qemu device (lava-examples/misc). */
export const KVM_REFERENCE = `${LAVA_EXAMPLES}misc/pipeline-ref-kvm.yaml`;
