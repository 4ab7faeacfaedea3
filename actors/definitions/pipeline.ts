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

export type Section = "deploy" | "boot" | "test" | "command" | "finalize";

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

interface Spec {
  name: string;
  description: string;
  summary: string;
  /** Retries (and divides its children's timeouts) by the block's failure_retry. */
  retry?: boolean;
  url?: string;
  item?: string;
  definition?: { stage: number; index: number };
  supported?: boolean;
  pipeline?: Spec[];
}

const a = (name: string, description: string, summary = description, more: Partial<Spec> = {}): Spec => ({
  name,
  description,
  summary,
  ...more,
});

// --- the action trees ------------------------------------------------------

interface Definition {
  name: string;
  from: string;
  stage: number;
  index: number;
}

function overlay(definitions: readonly Definition[]): Spec {
  const repoAction = (d: Definition) => {
    const more = { item: d.name, definition: { stage: d.stage, index: d.index } };
    return d.from === "git"
      ? a("git-repo-action", "apply git repository of tests to the test image", "clone git test repo", more)
      : d.from === "inline"
      ? a(
        "inline-repo-action",
        "apply inline test definition to the test image",
        "extract inline test definition",
        more,
      )
      : a("url-repo-action", "apply a single test file to the test image", "download test file", more);
  };
  return a(
    "lava-overlay",
    "add lava scripts during deployment for test shell use",
    "overlay the lava support scripts",
    {
      pipeline: [
        a(
          "lava-multinode-overlay",
          "add lava scripts during deployment for multinode test shell use",
          "overlay the lava multinode scripts",
        ),
        a("test-definition", "load test definitions into image", "loading test definitions", {
          pipeline: definitions.flatMap((d) => [
            repoAction(d),
            a("test-overlay", "overlay test support files onto image", "applying LAVA test overlay", { item: d.name }),
            a(
              "test-install-overlay",
              "overlay dependency installation support files onto image",
              "applying LAVA test install scripts",
              {
                item: d.name,
              },
            ),
            a("test-runscript-overlay", "overlay run script onto image", "applying LAVA test run script", {
              item: d.name,
            }),
          ]),
        }),
        a(
          "compress-overlay",
          "Create a lava overlay tarball and store alongside the job",
          "Compress the lava overlay files",
        ),
      ],
    },
  );
}

function download(key: string, image: unknown): Spec {
  const url = isMapping(image) && typeof image.url === "string" ? image.url : "";
  const leaf = url.startsWith("file://")
    ? a("file-download", "use local file", "local file copy", { url, item: key })
    : a("http-download", "use http to download the file", "http download", { url, item: key });
  return a("download-retry", "download with retry", "download-retry", { retry: true, item: key, pipeline: [leaf] });
}

/** The downloadable resources of a deploy block, by key, in the order they are written. */
function resources(block: Block, keys: readonly string[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (isMapping(block.images)) out.push(...Object.entries(block.images));
  for (const key of keys) if (isMapping(block[key])) out.push([key, block[key]]);
  return out;
}

const deviceEnv = a("deploy-device-env", "deploy device environment", "deploy device environment");

function deploy(block: Block, definitions: readonly Definition[]): Spec {
  const to = String(block.to);
  switch (to) {
    case "tmpfs":
      return a("deployimages", "deploy images", "deploy images", {
        pipeline: [
          overlay(definitions),
          deviceEnv,
          ...resources(block, []).map(([key, image]) => download(key, image)),
          a(
            "apply-overlay-guest",
            "prepare a qcow2 drive containing the overlay",
            "build a guest filesystem with the overlay",
          ),
        ],
      });
    case "tftp":
    case "nbd":
      return a(`${to}-deploy`, `download files and deploy using ${to}`, `${to} deployment`, {
        pipeline: [
          ...resources(block, ["kernel", "ramdisk", "initrd", "dtb", "modules", "nfsrootfs", "nbdroot", "tee"])
            .map(([key, image]) => download(key, image)),
          a(
            `prepare-${to}-overlay`,
            "extract ramdisk or nfsrootfs in preparation for lava overlay",
            "extract overlay",
            {
              pipeline: [
                overlay(definitions),
                a("apply-overlay-tftp", "unpack the overlay into the ramdisk", "apply overlay"),
              ],
            },
          ),
          deviceEnv,
        ],
      });
    case "overlay":
      return a("overlay-deploy", "add the lava overlay without deploying images", "overlay only", {
        pipeline: [overlay(definitions), deviceEnv],
      });
    case "download":
    case "downloads":
      return a("download-deploy", "download files", "download", {
        pipeline: resources(block, []).map(([key, image]) => download(key, image)),
      });
    default:
      return a(`deploy-${to}`, `deploy to ${to}`, `deploy ${to}`, { supported: false });
  }
}

function shellSession(block: Block): Spec[] {
  const specs: Spec[] = [];
  if (block.prompts !== undefined || block.auto_login !== undefined) {
    specs.push(
      a(
        "auto-login-action",
        "automatically login after boot using job parameters and checking for messages.",
        "Auto-login after boot with support for kernel messages.",
        {
          retry: true,
          pipeline: [a("login-action", "Real login action.", "Login after boot.")],
        },
      ),
    );
  }
  if (block.prompts !== undefined) {
    specs.push(
      a("expect-shell-connection", "Wait for a shell", "Expect a shell prompt"),
      a("export-device-env", "Exports environment variables to the device", "Exports environment variables action"),
    );
  }
  return specs;
}

function boot(block: Block): Spec {
  const method = String(block.method);
  const reset = a("reset-device", "reboot or power-cycle the device", "reboot the device", {
    pipeline: [a("pdu-reboot", "issue commands to a PDU to power cycle a device", "hard reboot using PDU")],
  });
  switch (method) {
    case "qemu":
      return a("boot-image-retry", "boot image with retry", "boot with retry", {
        retry: true,
        pipeline: [
          a("boot-qemu-image", "boot image using QEMU command line", "boot QEMU image", {
            retry: true,
            pipeline: [a("execute-qemu", "call qemu to boot the image", "execute qemu to boot the image")],
          }),
          ...shellSession(block),
        ],
      });
    case "minimal":
      return a("minimal-boot", "connect and reset device", "connect and reset device", {
        pipeline: [
          a("connect-device", "use the configured command to connect serial to the device", "run connection command"),
          ...(block.reset === false ? [] : [reset]),
          ...shellSession(block),
        ],
      });
    case "u-boot":
      return a("uboot-action", "interactive uboot action", "pass uboot commands", {
        retry: true,
        pipeline: [
          a(
            "bootloader-overlay",
            "substitute job data into bootloader command list",
            "replace placeholders with job data",
          ),
          a("connect-device", "use the configured command to connect serial to the device", "run connection command"),
          a("uboot-commands", "interactive uboot retry action", "uboot commands with retry", {
            retry: true,
            pipeline: [
              reset,
              a("bootloader-interrupt", "interrupt bootloader", "interrupt bootloader to get an interactive shell"),
              a("bootloader-commands", "send commands to bootloader", "interactive bootloader"),
            ],
          }),
          ...shellSession(block),
        ],
      });
    default:
      return a(`boot-${method}`, `boot with ${method}`, `boot ${method}`, { supported: false });
  }
}

function test(block: Block): Spec {
  if (Array.isArray(block.definitions) && block.docker === undefined) {
    return a("lava-test-retry", "Retry wrapper for lava-test-shell", "Retry support for Lava Test Shell", {
      retry: true,
      pipeline: [a("lava-test-shell", "Executing lava-test-runner", "Lava Test Shell")],
    });
  }
  const kind = ["interactive", "monitors", "services", "definitions"].find((k) => k in block) ?? "test";
  return a(`lava-test-${kind}`, `test ${kind}`, `test ${kind}`, { supported: false });
}

const FINALIZE = a("finalize", "finish the process and cleanup", "finalize the job", {
  pipeline: [
    a("power-off", "discontinue power to device", "send power_off command"),
    a("read-feedback", "Check for messages on all other namespaces", "Read from other namespaces"),
  ],
});

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
  spec: Spec,
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
  const maxRetries = spec.retry ? Math.max(1, ...retries) : 1;

  const children = (spec.pipeline ?? []).map((child, i) =>
    resolve(child, block, section, `${level}.${i + 1}`, { timeout, maxRetries }, r, undefined)
  );
  return {
    name: spec.name,
    level,
    description: spec.description,
    summary: spec.summary,
    section,
    ...(typeof block.to === "string"
      ? { method: block.to }
      : typeof block.method === "string"
      ? { method: block.method }
      : {}),
    ...(typeof block.namespace === "string" ? { namespace: block.namespace } : {}),
    timeout,
    connectionTimeout,
    maxRetries,
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
function definitionsAfter(actions: readonly { kind: string; block: Block }[], index: number): Definition[] {
  const out: Definition[] = [];
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

/**
 * Builds the pipeline of a valid job (see job_schema.ts) on a rendered device
 * configuration. For a MultiNode sub-job, pass the job as split for its role.
 */
export function buildPipeline(job: unknown, device: unknown): Pipeline {
  const j = isMapping(job) ? job : {};
  const d = isMapping(device) ? device : {};
  const list = (Array.isArray(j.actions) ? j.actions : []).flatMap((entry) => {
    if (!isMapping(entry)) return [];
    const kind = ["deploy", "boot", "test", "command"].find((k) => k in entry);
    return kind && isMapping(entry[kind]) ? [{ kind, block: entry[kind] as Block }] : [];
  });
  const r: Resolution = { job: j, device: d };
  const actions = list.map(({ kind, block }, index) => {
    const spec = kind === "deploy"
      ? deploy(block, definitionsAfter(list, index))
      : kind === "boot"
      ? boot(block)
      : kind === "test"
      ? test(block)
      : a("user-command", "execute one of the commands listed by the admin", "execute commands as a dispatcher action");
    return resolve(spec, block, kind as Section, String(index + 1), undefined, r, index);
  });
  actions.push(resolve(FINALIZE, {}, "finalize", String(actions.length + 1), undefined, r, undefined));
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
  pipeline: Pipeline = buildPipeline(job, device),
): Record<string, unknown> {
  const j = isMapping(job) ? job : {};
  const d = isMapping(device) ? device : {};
  return {
    job: { id: jobId, name: j.job_name, timeout: pipeline.jobTimeout },
    device: { hostname: d.hostname, devicetype: d.devicetype },
    pipeline: describePipeline(pipeline),
  };
}
