/**
 * The pipeline of a job on a device: the ordered tree of actions the dispatcher
 * runs, named as LAVA names them (device and job timeouts are keyed by these
 * names), each with its timeout resolved by LAVA's precedence, lowest first:
 *
 *   1. the job's `timeouts.action` (30 s when absent)
 *   2. the device's `timeouts.actions.<name>`
 *   3. the action block's `timeout` (for every action in that block)
 *   4. inside an action that retries N times, its timeout divided by N
 *   5. the job's `timeouts.actions.<name>`
 *   6. the action block's `timeouts.<name>`
 *
 * and connection timeouts: the job's `timeouts.connection` (30 s) < the device's
 * `timeouts.connections.<name>` < the job's `timeouts.connections.<name>`.
 * This is what `description.yaml` shows and what the dispatcher executes.
 */
import { isMapping } from "./schema.ts";
import { DEFAULT_ACTION_TIMEOUT_SECONDS, timeoutSeconds } from "./timeouts.ts";
import { lavaActionClass } from "./lava_action_classes.ts";
import { actionMethod, type Section } from "./methods.ts";

export type { Section };

export interface PipelineAction {
  readonly name: string;
  readonly level: string;
  readonly description: string;
  readonly summary: string;
  readonly section: Section;
  /** deploy `to`, boot `method`, test kind... */
  readonly method?: string;
  readonly namespace?: string;
  readonly timeout: number;
  readonly connectionTimeout: number;
  readonly maxRetries: number;
  /** Runs all `maxRetries` times whatever happens (the block's `repeat`), failing at the end if any run failed. */
  readonly repeat?: boolean;
  /** False for a method Basalt's dispatcher does not run (it fails the job with a clear error). */
  readonly supported: boolean;
  /** Where a download action fetches from. */
  readonly url?: string;
  /** A test definition or image this action is about. */
  readonly item?: string;
  /** For a test definition: its test action ("stage") and its index there. */
  readonly definition?: { readonly stage: number; readonly index: number };
  /** Index of the job action this belongs to (top-level actions only). */
  readonly jobAction?: number;
  readonly pipeline: readonly PipelineAction[];
}

export interface Pipeline {
  readonly jobTimeout: number;
  readonly actions: readonly PipelineAction[];
}

type Block = Record<string, unknown>;

/**
 * The shape of an action before its timeouts are resolved: LAVA's name, texts and
 * children. Strategies (worker/strategies/) give one for each job action they run.
 */
export interface ActionShape {
  readonly name: string;
  readonly description: string;
  readonly summary: string;
  /** Retries (and divides its children's timeouts) by the block's failure_retry. */
  readonly retry?: boolean;
  readonly url?: string;
  readonly item?: string;
  readonly definition?: { readonly stage: number; readonly index: number };
  readonly supported?: boolean;
  readonly pipeline?: readonly ActionShape[];
}

/** An action's shape from its name and texts (the summary defaults to the description). */
export const shape = (
  name: string,
  description: string,
  summary = description,
  more: Partial<ActionShape> = {},
): ActionShape => ({ name, description, summary, ...more });

/** A test definition that a deploy puts in its overlay, with the test action it belongs to. */
export interface OverlayDefinition {
  readonly name: string;
  readonly from: string;
  /** The test action's number among all the job's test actions. */
  readonly stage: number;
  /** The definition's index in that test action. */
  readonly index: number;
}

/** What of the rest of the job shapes one action. */
export interface ShapeContext {
  /** For a deploy: the test definitions its overlay carries. */
  readonly definitions: readonly OverlayDefinition[];
  /** Whether a test action of the same namespace runs a shell (LAVA's `test_has_shell`). */
  readonly testHasShell: boolean;
}

/**
 * Where the builder gets the shape of each job action: the strategy that runs its
 * section's method, or undefined when none does.
 */
export interface ShapeCatalog {
  shapeOf(section: Section, block: Block, context: ShapeContext, device: Block): ActionShape | undefined;
}

/** A job action no strategy runs: kept in the pipeline, marked unsupported, so the job fails saying so. */
function unsupported(section: Section, block: Block): ActionShape {
  const method = actionMethod(section, block);
  return shape(`${section}-${method}`, `${section} with ${method}`, `${section} ${method}`, { supported: false });
}

// --- resolution --------------------------------------------------------------

interface Resolution {
  job: Block;
  device: Block;
}

const named = (timeouts: unknown, key: string, name: string): number | undefined => {
  if (!isMapping(timeouts) || !isMapping(timeouts[key])) return undefined;
  return timeoutSeconds((timeouts[key] as Record<string, unknown>)[name]);
};

function resolve(
  spec: ActionShape,
  block: Block,
  section: Section,
  level: string,
  parent: { timeout: number; maxRetries: number } | undefined,
  r: Resolution,
  jobAction: number | undefined,
): PipelineAction {
  const jobTimeouts = isMapping(r.job.timeouts) ? r.job.timeouts : {};
  let timeout = timeoutSeconds(jobTimeouts.action) ?? DEFAULT_ACTION_TIMEOUT_SECONDS;
  timeout = named(r.device.timeouts, "actions", spec.name) ?? timeout;
  timeout = timeoutSeconds(block.timeout) ?? timeout;
  if (parent && parent.maxRetries > 1) timeout = parent.timeout / parent.maxRetries;
  timeout = named(jobTimeouts, "actions", spec.name) ?? timeout;
  timeout = (isMapping(block.timeouts) ? timeoutSeconds(block.timeouts[spec.name]) : undefined) ?? timeout;

  let connectionTimeout = timeoutSeconds(jobTimeouts.connection) ?? DEFAULT_ACTION_TIMEOUT_SECONDS;
  connectionTimeout = named(r.device.timeouts, "connections", spec.name) ?? connectionTimeout;
  connectionTimeout = named(jobTimeouts, "connections", spec.name) ?? connectionTimeout;

  const constants = isMapping(r.device.constants) ? r.device.constants : {};
  const retries = [typeof block.failure_retry === "number" ? block.failure_retry : 0];
  retries.push(typeof constants.failure_retry === "number" ? constants.failure_retry : 1);
  if (section === "boot" && typeof constants.boot_retry === "number") retries.push(constants.boot_retry);
  // A block's `repeat` takes the place of its retries (the schema refuses both on one block), and
  // only the top-level action repeats, as LAVA documents it: the actions inside run once each time.
  const repeat = spec.retry && !parent && typeof block.repeat === "number" ? block.repeat : undefined;
  const maxRetries = repeat ?? (spec.retry ? Math.max(1, ...retries) : 1);

  const children = (spec.pipeline ?? []).map((child, i) =>
    resolve(child, block, section, `${level}.${i + 1}`, { timeout, maxRetries }, r, undefined)
  );
  return {
    name: spec.name,
    level,
    description: spec.description,
    summary: spec.summary,
    section,
    ...(section === "deploy" || section === "boot" || section === "test"
      ? { method: actionMethod(section, block) }
      : {}),
    ...(typeof block.namespace === "string" ? { namespace: block.namespace } : {}),
    timeout,
    connectionTimeout,
    maxRetries,
    ...(repeat !== undefined ? { repeat: true } : {}),
    supported: spec.supported ?? true,
    ...(spec.url ? { url: spec.url } : {}),
    ...(spec.item ? { item: spec.item } : {}),
    ...(spec.definition ? { definition: spec.definition } : {}),
    ...(jobAction !== undefined ? { jobAction } : {}),
    pipeline: children,
  };
}

/**
 * The test definitions a deploy must put in its overlay: those of the test
 * actions until the next deploy, with their stage (the test action's number among
 * all the job's test actions) and their index in it.
 */
function definitionsAfter(actions: readonly { kind: string; block: Block }[], index: number): OverlayDefinition[] {
  const out: OverlayDefinition[] = [];
  let stage = actions.slice(0, index + 1).filter((a) => a.kind === "test").length;
  for (let i = index + 1; i < actions.length && actions[i].kind !== "deploy"; i++) {
    const { kind, block } = actions[i];
    if (kind !== "test") continue;
    const definitions = Array.isArray(block.definitions) ? block.definitions : [];
    definitions.forEach((d, position) => {
      if (isMapping(d)) out.push({ name: String(d.name), from: String(d.from), stage, index: position });
    });
    stage++;
  }
  return out;
}

const namespaceOf = (block: Block) => typeof block.namespace === "string" ? block.namespace : "common";

/**
 * Builds the pipeline of a valid job (see job_schema.ts) on a rendered device
 * configuration, each action shaped by the strategy the catalog has for it. For
 * a MultiNode sub-job, pass the job as split for its role.
 */
export function buildPipeline(job: unknown, device: unknown, catalog: ShapeCatalog): Pipeline {
  const j = isMapping(job) ? job : {};
  const d = isMapping(device) ? device : {};
  const list = (Array.isArray(j.actions) ? j.actions : []).flatMap((entry) => {
    if (!isMapping(entry)) return [];
    const kind = ["deploy", "boot", "test", "command"].find((k) => k in entry);
    return kind && isMapping(entry[kind]) ? [{ kind, block: entry[kind] as Block }] : [];
  });
  const r: Resolution = { job: j, device: d };
  const actions = list.map(({ kind, block }, index) => {
    const section = kind as Section;
    const context = {
      definitions: kind === "deploy" ? definitionsAfter(list, index) : [],
      testHasShell: list.some((a) =>
        a.kind === "test" && Array.isArray(a.block.definitions) && namespaceOf(a.block) === namespaceOf(block)
      ),
    };
    const spec = catalog.shapeOf(section, block, context, d) ?? unsupported(section, block);
    return resolve(spec, block, section, String(index + 1), undefined, r, index);
  });
  const finalize = catalog.shapeOf("finalize", {}, { definitions: [], testHasShell: false }, d) ??
    unsupported("finalize", {});
  actions.push(resolve(finalize, {}, "finalize", String(actions.length + 1), undefined, r, undefined));
  const jobTimeouts = isMapping(j.timeouts) ? j.timeouts : {};
  return { jobTimeout: timeoutSeconds(jobTimeouts.job) ?? 0, actions };
}

/** LAVA's description.yaml shape: the tree with names, levels, retries and timeouts. */
export function describePipeline(pipeline: Pipeline): unknown[] {
  const describe = (action: PipelineAction): Record<string, unknown> => ({
    class: lavaActionClass(action.name),
    name: action.name,
    level: action.level,
    max_retries: action.maxRetries,
    description: action.description,
    summary: action.summary,
    timeout: action.timeout,
    connection_timeout: action.connectionTimeout,
    ...(action.url ? { url: action.url } : {}),
    ...(action.namespace ? { namespace: action.namespace } : {}),
    ...(action.pipeline.length > 0 ? { pipeline: action.pipeline.map(describe) } : {}),
  });
  return pipeline.actions.map(describe);
}

/**
 * What `description.yaml` holds and `deno task cli jobs describe` prints: the job, the device and the
 * pipeline in the shape of LAVA's `describe()`, without running anything.
 */
export function describeJob(
  job: unknown,
  device: unknown,
  jobId: string,
  pipeline: Pipeline,
): Record<string, unknown> {
  const j = isMapping(job) ? job : {};
  const d = isMapping(device) ? device : {};
  return {
    job: { id: jobId, name: j.job_name, timeout: pipeline.jobTimeout },
    device: { hostname: d.hostname, devicetype: d.devicetype },
    pipeline: describePipeline(pipeline),
  };
}
