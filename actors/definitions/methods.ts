/**
 * Which method each action of a job asks for: a deploy's `to`, a boot's `method`,
 * a test's kind. Strategies on a worker run methods; the master compares what a job
 * asks for with what a worker said it runs (its capabilities) before accepting or
 * placing the job.
 */
import { isMapping } from "./schema.ts";

/** The sections of a job's pipeline. */
export type Section = "deploy" | "boot" | "test" | "command" | "finalize";

/** The kinds of test action, in the order LAVA tells them apart (`reservation` is Basalt's own). */
export const TEST_KINDS = ["interactive", "monitors", "services", "definitions", "reservation"] as const;

/** The method a job action block of `section` asks for. */
export function actionMethod(section: Section, block: Record<string, unknown>): string {
  switch (section) {
    case "deploy":
      return String(block.to);
    case "boot":
      return String(block.method);
    case "test":
      if (block.docker !== undefined) return "docker";
      return TEST_KINDS.find((kind) => kind in block) ?? "test";
    default:
      return section;
  }
}

/** What a worker's dispatcher runs, by section; what a job asks for, the same way. */
export interface Capabilities {
  readonly deploy: readonly string[];
  readonly boot: readonly string[];
  readonly test: readonly string[];
}

/** A method name as workers report them: short, plain. */
const METHOD_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** At most this many methods per section are taken from a worker's report. */
const MAX_METHODS = 256;

/**
 * Capabilities from a peer's message or a stored row (hostile input): lists of
 * plain method names, bounded; undefined when there are none (an older worker).
 */
export function parseCapabilities(value: unknown): Capabilities | undefined {
  if (!isMapping(value)) return undefined;
  const names = (list: unknown) =>
    Array.isArray(list)
      ? [...new Set(list.filter((m): m is string => typeof m === "string" && METHOD_NAME.test(m)))].slice(
        0,
        MAX_METHODS,
      )
      : [];
  return { deploy: names(value.deploy), boot: names(value.boot), test: names(value.test) };
}

/** A method of a job that a worker does not run. */
export interface MissingMethod {
  readonly section: keyof Capabilities;
  readonly method: string;
}

/** The deploy, boot and test methods a job (a definition's parsed YAML) asks for, each once. */
export function requiredMethods(job: unknown): Capabilities {
  const wanted = { deploy: new Set<string>(), boot: new Set<string>(), test: new Set<string>() };
  const actions = isMapping(job) && Array.isArray(job.actions) ? job.actions : [];
  for (const entry of actions) {
    if (!isMapping(entry)) continue;
    for (const section of ["deploy", "boot", "test"] as const) {
      const block = entry[section];
      if (isMapping(block)) wanted[section].add(actionMethod(section, block));
    }
  }
  return { deploy: [...wanted.deploy], boot: [...wanted.boot], test: [...wanted.test] };
}

/** What of `wanted` a worker with `capabilities` does not run; empty when it runs it all. */
export function missingMethods(wanted: Capabilities, capabilities: Capabilities): MissingMethod[] {
  const missing: MissingMethod[] = [];
  for (const section of ["deploy", "boot", "test"] as const) {
    for (const method of wanted[section]) {
      if (!capabilities[section].includes(method)) missing.push({ section, method });
    }
  }
  return missing;
}

/** "deploy to docker, boot method docker": the methods as a job names them. */
export function describeMissing(missing: readonly MissingMethod[]): string {
  const words = { deploy: "deploy to", boot: "boot method", test: "test" } as const;
  return missing.map((m) => `${words[m.section]} ${m.method}`).join(", ");
}
