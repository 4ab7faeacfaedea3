/**
 * LAVA job definitions, validated as LAVA's server validates them (strict and
 * non-strict), but reporting every problem of the file at once, each with its
 * file, line, column and key path, e.g.
 *
 *   job.yaml:27:13: actions[1].boot.method: unknown action type: boot method "qemu-foo" ...
 */
import { BOOT_SCHEMAS, COMMAND_SCHEMA, DEPLOY_SCHEMAS, TEST_SCHEMAS, testKind } from "./action_schemas.ts";
import { removedFeatures } from "./removed.ts";
import {
  anything,
  bool,
  type Check,
  dict,
  either,
  int,
  isMapping,
  type Issue,
  list,
  literal,
  map,
  oneOf,
  report,
  str,
  validate,
  type Validator,
} from "./schema.ts";
import { timeout, timeoutSeconds } from "./timeouts.ts";
import { formatPath, loadYaml, type PathSegment, positionOf } from "./yaml.ts";

/** Job `context` keys LAVA's schema allows; the lab may add its own. */
export const CONTEXT_VARIABLES = [
  // qemu
  "arch",
  "boot_console",
  "boot_root",
  "cpu",
  "extra_options",
  "guestfs_driveid",
  "guestfs_interface",
  "guestfs_size",
  "machine",
  "memory",
  "model",
  "monitor",
  "netdevice",
  "no_kvm",
  "no_network",
  "serial",
  "vga",
  // u-boot
  "booti_dtb_addr",
  "booti_kernel_addr",
  "booti_ramdisk_addr",
  "bootm_dtb_addr",
  "bootm_kernel_addr",
  "bootm_ramdisk_addr",
  "bootz_dtb_addr",
  "bootz_kernel_addr",
  "bootz_ramdisk_addr",
  // others
  "boot_character_delay",
  "boot_retry",
  "bootloader_prompt",
  "console_device",
  "custom_kernel_args",
  "extra_kernel_args",
  "extra_nfsroot_args",
  "failure_retry",
  "kernel_loglevel",
  "kernel_start_message",
  "lava_test_results_dir",
  "menu_interrupt_prompt",
  "mustang_menu_list",
  "test_character_delay",
  "tftp_mac_address",
  "uboot_extra_error_message",
  "uboot_needs_interrupt",
  "uboot_altbank",
] as const;

export const ACTION_TYPES = ["deploy", "boot", "test", "command"] as const;

/**
 * Characters a context value may not hold: it is printed into the device's YAML,
 * where a line break or other control character could add settings. U+E000 and
 * U+E001 are the fences the master uses to check where job values land.
 */
// deno-lint-ignore no-control-regex
export const FORBIDDEN_IN_CONTEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\uE000\uE001\uFEFF]/;
/** The longest context string; device settings are short. */
export const MAX_CONTEXT_STRING = 4096;
const MAX_CONTEXT_LIST = 256;

function context(allowed: readonly string[]): Validator {
  const scalar = (value: unknown, path: readonly PathSegment[], check: Check) => {
    if (typeof value === "string") {
      const bad = FORBIDDEN_IN_CONTEXT.exec(value);
      if (bad) {
        const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        report(check, path, `the value holds the control character U+${code}; context values are single-line text`);
      } else if (value.length > MAX_CONTEXT_STRING) {
        report(check, path, `the value is ${value.length} characters long; at most ${MAX_CONTEXT_STRING} are allowed`);
      }
    } else if (!(typeof value === "number" && Number.isInteger(value)) && typeof value !== "boolean") {
      report(check, path, "expected an integer, a string or a list of them");
    }
  };
  return (value, path, check) => {
    if (!isMapping(value)) return report(check, path, "expected a mapping");
    for (const [key, element] of Object.entries(value)) {
      if (!allowed.includes(key)) {
        // LAVA rejects unknown context keys even when validation is not strict.
        report(
          check,
          [...path, key],
          `extra keys not allowed: ${JSON.stringify(key)} is not a context variable this lab knows`,
          true,
        );
        continue;
      }
      if (Array.isArray(element) && element.length > MAX_CONTEXT_LIST) {
        report(check, [...path, key], `the list has ${element.length} items; at most ${MAX_CONTEXT_LIST} are allowed`);
      } else if (Array.isArray(element)) element.forEach((item, i) => scalar(item, [...path, key, i], check));
      else scalar(element, [...path, key], check);
    }
  };
}

const priority: Validator = (value, path, check) => {
  if (typeof value === "string") return oneOf(["high", "medium", "low"], "priority")(value, path, check);
  int({ min: 0, max: 100 })(value, path, check);
};

const visibility: Validator = (value, path, check) => {
  if (typeof value === "string") return oneOf(["public", "personal"], "visibility")(value, path, check);
  map({ optional: { group: list(str()) } })(value, path, check);
};

const callback = map({
  required: { url: str() },
  optional: {
    method: oneOf(["GET", "POST"], "method"),
    token: str(),
    header: str(),
    dataset: oneOf(["minimal", "logs", "results", "all"], "dataset"),
    "content-type": oneOf(["json", "urlencoded"], "content type"),
  },
});

const notify = map({
  required: {
    criteria: either(
      map({ required: { status: literal("all") } }),
      map({
        required: { status: oneOf(["finished", "running", "complete", "canceled", "incomplete"], "status") },
        optional: { dependency_query: str() },
      }),
      map({
        required: { status: oneOf(["complete", "incomplete"], "status") },
        optional: { type: oneOf(["regression", "progression"], "type") },
      }),
    ),
  },
  optional: {
    verbosity: oneOf(["verbose", "quiet", "status-only"], "verbosity"),
    recipients: list(map({
      required: {
        to: map({
          required: { method: oneOf(["email", "irc"], "method") },
          optional: { user: str(), email: str(), handle: str(), server: str() },
        }),
      },
    })),
    callback,
    callbacks: list(callback),
    compare: map({
      optional: {
        blacklist: list(str()),
        query: either(
          map({ required: { username: str(), name: str() } }),
          map({ required: { entity: str() }, optional: { conditions: dict(str()) } }),
        ),
      },
    }),
  },
  exclusive: [["callback", "callbacks"]],
});

function protocols(contextVariables: readonly string[]): Validator {
  const role: Validator = (value, path, check) => {
    if (isMapping(value) && "connection" in value) {
      return map({
        required: { connection: str(), count: int({ min: 0 }), expect_role: str(), host_role: str() },
        optional: {
          essential: bool,
          request: str(),
          tags: list(str()),
          timeout,
          context: context(contextVariables),
        },
      })(value, path, check);
    }
    map({
      required: { device_type: str({ min: 1, max: 200 }), count: int({ min: 0 }) },
      optional: {
        context: context(contextVariables),
        tags: list(str()),
        environment: dict(anything),
        essential: bool,
        timeout,
        device: str(),
        worker: str(),
      },
    })(value, path, check);
  };
  const lxc = map({
    required: { name: str(), distribution: str(), release: str() },
    optional: {
      arch: str(),
      mirror: str(),
      persist: bool,
      security_mirror: str(),
      template: str(),
      timeout,
      verbose: bool,
    },
  });
  return map({
    optional: {
      // As submitted (roles and their counts), or as the master hands one sub-job to a dispatcher.
      "lava-multinode": (value, path, check) =>
        isSubJob(value)
          ? map({
            required: { target_group: str(), role: str(), group_size: int({ min: 1 }), sub_id: int({ min: 0 }) },
            optional: { roles: dict(str()), timeout },
          })(value, path, { ...check, strict: false })
          : map({ required: { roles: dict(role) }, optional: { timeout } })(value, path, check),
      "lava-xnbd": map({
        required: { port: (v, p, c) => (v === "auto" ? undefined : int()(v, p, c)) },
        optional: { timeout },
      }),
      "lava-lxc": either(lxc, dict(lxc)),
      "lava-vland": dict(anything),
    },
  });
}

function jobSchema(contextVariables: readonly string[]): Validator {
  return map({
    required: {
      job_name: str({ min: 1, max: 200 }),
      timeouts: map({
        required: { job: timeout },
        optional: {
          action: timeout,
          actions: dict(timeout),
          connection: timeout,
          connections: dict(timeout),
          queue: timeout,
        },
      }),
      visibility,
      actions: list(actionShape, { min: 1 }),
    },
    optional: {
      device_type: str({ min: 1, max: 200 }),
      device: str({ min: 1 }),
      worker: str({ min: 1 }),
      context: context(contextVariables),
      metadata: dict(anything),
      priority,
      tags: list(str()),
      secrets: dict(str()),
      environment: dict(anything),
      protocols: protocols(contextVariables),
      notify,
      reboot_to_fastboot: bool,
      // Added by the server to the sub-jobs of a MultiNode job.
      compatibility: int(),
      connection: str(),
      host_role: str(),
    },
  });
}

/** An entry of `actions`: a mapping with one of deploy/boot/test/command. */
const actionShape: Validator = (value, path, check) => {
  if (!isMapping(value)) return report(check, path, "expected a mapping with one of deploy, boot, test or command");
  const keys = Object.keys(value);
  const known = keys.filter((k) => (ACTION_TYPES as readonly string[]).includes(k));
  for (const key of keys.filter((k) => !known.includes(k))) {
    report(check, [...path, key], `extra keys not allowed: an action is one of deploy, boot, test or command`, true);
  }
  if (known.length === 0) return report(check, path, "an action needs one of deploy, boot, test or command");
  if (known.length > 1) {
    report(check, [...path, known[1]], `an action has one type; this one has ${known.join(" and ")}`, true);
  }
  const kind = known[0];
  const body = value[kind];
  if (!isMapping(body)) return report(check, [...path, kind], "expected a mapping");
  actionBody(kind, body, [...path, kind], check);
};

const MULTINODE = "lava-multinode";

/** A MultiNode sub-job as the master sends it: one role, in a named group. */
function isSubJob(value: unknown): boolean {
  return isMapping(value) && typeof value.target_group === "string" && typeof value.role === "string";
}

function actionBody(kind: string, body: Record<string, unknown>, path: readonly PathSegment[], check: Check): void {
  if (kind === "command") return COMMAND_SCHEMA(body, path, check);
  if (kind === "test") {
    const which = testKind(body);
    if (!which) {
      return report(check, path, "invalid action: a test needs definitions, interactive, monitors or services");
    }
    return TEST_SCHEMAS[which](body, path, check);
  }
  const selector = kind === "deploy" ? "to" : "method";
  const schemas = kind === "deploy" ? DEPLOY_SCHEMAS : BOOT_SCHEMAS;
  const chosen = body[selector];
  if (chosen === undefined) {
    return report(check, [...path, selector], `required key not provided: a ${kind} needs ${selector}`);
  }
  const schema = typeof chosen === "string" ? schemas[chosen] : undefined;
  if (!schema) {
    const known = Object.keys(schemas).sort().join(", ");
    return report(
      check,
      [...path, selector],
      `unknown action type: ${kind} ${selector} ${
        JSON.stringify(chosen)
      } is not one LAVA knows (expected one of ${known})`,
    );
  }
  schema(body, path, check);
}

/** LAVA's checks across the whole job, after each part has its own shape. */
function crossChecks(job: Record<string, unknown>, check: Check): void {
  const timeouts = isMapping(job.timeouts) ? job.timeouts : {};
  const jobSeconds = timeoutSeconds(timeouts.job);
  const actions = Array.isArray(job.actions) ? job.actions : [];
  const bodies = actions.map((a) => {
    if (!isMapping(a)) return undefined;
    const kind = ACTION_TYPES.find((k) => k in a);
    return kind && isMapping(a[kind]) ? { kind, body: a[kind] as Record<string, unknown> } : undefined;
  });
  if (jobSeconds !== undefined) {
    const over = (value: unknown) => (timeoutSeconds(value) ?? 0) > jobSeconds;
    for (const key of ["action", "connection"] as const) {
      if (over(timeouts[key])) report(check, ["timeouts", key], "Global timeout is larger than job timeout");
    }
    for (const key of ["actions", "connections"] as const) {
      const named = timeouts[key];
      if (!isMapping(named)) continue;
      for (const [name, value] of Object.entries(named)) {
        if (over(value)) report(check, ["timeouts", key, name], "Global timeout is larger than job timeout");
      }
    }
    bodies.forEach((action, index) => {
      if (action && over(action.body.timeout)) {
        report(check, ["actions", index, action.kind, "timeout"], "Action timeout is larger than job timeout");
      }
    });
  }
  const protocols = isMapping(job.protocols) ? job.protocols : {};
  const subJob = isSubJob(protocols[MULTINODE]);
  const multinode = !subJob && isMapping(protocols[MULTINODE]) && Object.keys(protocols[MULTINODE]).length > 0;
  // A secondary connection (`connection: ssh`) has no device type: it uses its host role's device.
  if (subJob && !job.device_type && !job.connection) {
    report(check, ["device_type"], `a MultiNode sub-job needs its role's "device_type"`);
  }
  if (multinode) {
    bodies.forEach((action, index) => {
      if (action && !("role" in action.body)) {
        report(check, ["actions", index, action.kind, "role"], "Every action of a multinode job should have roles");
      }
    });
    const roles = isMapping((protocols[MULTINODE] as Record<string, unknown>).roles)
      ? Object.keys((protocols[MULTINODE] as { roles: Record<string, unknown> }).roles)
      : [];
    bodies.forEach((action, index) => {
      const role = action?.body.role;
      if (!Array.isArray(role)) return;
      role.forEach((name, i) => {
        if (typeof name === "string" && !roles.includes(name)) {
          report(
            check,
            ["actions", index, action!.kind, "role", i],
            `role ${JSON.stringify(name)} is not one of the job's roles (${roles.join(", ")})`,
          );
        }
      });
    });
  }
  for (const key of ["device_type", "environment", "context", "tags"]) {
    const given = key in job && job[key] !== null && job[key] !== "" &&
      !(Array.isArray(job[key]) && (job[key] as unknown[]).length === 0);
    if (given && multinode) report(check, [key], `"${key}" should not be used with multinode`, true);
  }
  if (!multinode && !subJob && !job.device_type) {
    report(check, ["device_type"], `"device_type" or multinode should be defined`);
  }
  const withNamespace = bodies.filter((a) => a && typeof a.body.namespace === "string").length;
  if (withNamespace > 0 && withNamespace < bodies.filter((a) => a).length) {
    bodies.forEach((action, index) => {
      if (action && typeof action.body.namespace !== "string") {
        report(
          check,
          ["actions", index, action.kind, "namespace"],
          "When using namespaces, every action should have a namespace",
        );
      }
    });
  }
  bodies.forEach((action, index) => {
    if (action?.kind !== "test" || !Array.isArray(action.body.definitions)) return;
    action.body.definitions.forEach((definition, i) => {
      if (isMapping(definition) && definition.name === "lava") {
        report(
          check,
          ["actions", index, "test", "definitions", i, "name"],
          `the test definition name "lava" is reserved for LAVA's own results`,
        );
      }
    });
  });
}

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Key path, `actions[1].boot.method`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: PATH: MESSAGE`, one line. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.path ? `${d.path}: ` : ""}${d.message}`;
}

export interface JobValidation {
  readonly valid: boolean;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
  /** What a valid definition uses that Basalt refuses at submission (LAVA 2023.01 features since dropped). */
  readonly refusals: readonly Diagnostic[];
  /** The parsed job, when the text was YAML (even if invalid). */
  readonly job: unknown;
}

export interface ValidateOptions {
  /** Shown in diagnostics. */
  readonly file?: string;
  /** Unknown keys are errors (LAVA's strict mode); otherwise they are allowed. */
  readonly strict?: boolean;
  /** Context variables the lab allows beyond LAVA's own. */
  readonly extraContextVariables?: readonly string[];
}

/** Issues of an already-parsed job, with key paths but no positions. */
export function jobIssues(job: unknown, options: ValidateOptions = {}): Issue[] {
  const strict = options.strict ?? false;
  const variables = [...CONTEXT_VARIABLES, ...(options.extraContextVariables ?? [])];
  const issues = validate(jobSchema(variables), job, strict);
  if (isMapping(job)) {
    const check: Check = { strict, issues: [] };
    crossChecks(job, check);
    // A problem already reported at the same place is not repeated.
    const seen = new Set(issues.map((i) => `${formatPath(i.path)}\u0000${i.message}`));
    for (const issue of check.issues) {
      if (!seen.has(`${formatPath(issue.path)}\u0000${issue.message}`)) issues.push(issue);
    }
  }
  return issues;
}

/** Parses and validates a job file's text. Never throws on bad input. */
export function validateJob(text: string, options: ValidateOptions = {}): JobValidation {
  const file = options.file ?? "job.yaml";
  const loaded = loadYaml(text);
  const at = (message: string, line: number, column: number, path = ""): Diagnostic => ({
    file,
    line,
    column,
    path,
    message,
  });
  const warnings = loaded.warnings.map((w) => at(w.message, w.line, w.column, w.path));
  if (loaded.errors.length > 0) {
    return {
      valid: false,
      errors: loaded.errors.map((e) => at(`not valid YAML: ${e.message}`, e.line, e.column)),
      warnings,
      refusals: [],
      job: undefined,
    };
  }
  const issues = jobIssues(loaded.value, options);
  const errors = issues.map((issue) => {
    const position = positionOf(loaded, issue.path, issue.atKey);
    return at(issue.message, position.line, position.column, formatPath(issue.path));
  }).sort((a, b) => a.line - b.line || a.column - b.column);
  const refusals = removedFeatures(loaded.value).map((removed) => {
    const position = positionOf(loaded, removed.path);
    return at(removed.message, position.line, position.column, formatPath(removed.path));
  });
  return { valid: errors.length === 0, errors, warnings, refusals, job: loaded.value };
}
