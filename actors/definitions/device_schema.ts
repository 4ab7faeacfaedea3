/**
 * The rendered device configuration (what a device dictionary becomes for one
 * job), checked as LAVA checks it: required sections and the types of the keys
 * the dispatcher reads. Unknown keys are always allowed, as in LAVA.
 */
import {
  anything,
  bool,
  dict,
  either,
  int,
  isMapping,
  type Issue,
  list,
  map,
  report,
  str,
  strOrList,
  validate,
  type Validator,
} from "./schema.ts";
import { timeout } from "./timeouts.ts";
import { formatPath, loadYaml, positionOf } from "./yaml.ts";
import type { Diagnostic } from "./job_schema.ts";

const allow = "allow" as const;
const exactly4 = str({ min: 4, max: 4 });
const LOAD_ADDRESSES = ["image", "booti", "uimage", "bootm", "zimage", "bootz"];

const parameters = map({
  optional: {
    interfaces: dict(anything),
    media: map({
      optional: {
        sata: dict(anything),
        sd: dict(anything),
        usb: dict(anything),
      },
      extra: allow,
    }),
    load_address: str(),
    pass: anything,
    ...Object.fromEntries(
      LOAD_ADDRESSES.map((
        key,
      ) => [key, map({ required: { kernel: str(), ramdisk: str(), dtb: str() }, extra: allow })]),
    ),
  },
  extra: allow,
});

const commands = map({
  optional: {
    connect: str(),
    connections: dict(map({ required: { connect: str() }, optional: { tags: list(str()) }, extra: allow })),
    hard_reset: strOrList(),
    soft_reboot: strOrList(),
    power_off: strOrList(),
    power_on: strOrList(),
    pre_power_command: strOrList(),
    pre_os_command: strOrList(),
    users: dict(map({ required: { do: str() }, optional: { undo: str() }, extra: allow })),
  },
  extra: allow,
});

/** A `methods` or `connections` mapping whose entries may be empty (null) or mappings. */
const methods: Validator = (value, path, check) => {
  if (!isMapping(value)) return report(check, path, "expected a mapping");
};

const deviceSchema: Validator = map({
  required: {
    constants: dict(anything),
    parameters: either(parameters, (value, path, check) => {
      if (value !== null) report(check, path, "expected a mapping");
    }),
    actions: map({
      required: {
        deploy: map({ required: { methods }, optional: { connections: methods, parameters: anything }, extra: allow }),
        boot: map({ required: { connections: methods, methods }, extra: allow }),
      },
      optional: {
        test: map({ required: { methods: dict(anything) }, extra: allow }),
      },
      extra: allow,
    }),
    timeouts: map({ required: { actions: dict(timeout), connections: dict(timeout) }, extra: allow }),
  },
  optional: {
    character_delays: map({ optional: { boot: int(), test: int(), deploy: int() }, extra: allow }),
    commands,
    adb_serial_number: str(),
    fastboot_serial_number: str(),
    fastboot_options: list(str()),
    fastboot_via_uboot: bool,
    device_info: list(dict(anything)),
    static_info: list(dict(anything)),
    storage_info: list(dict(anything)),
    environment: dict(anything),
    flash_cmds_order: list(str()),
    board_id: str(),
    usb_vendor_id: exactly4,
    usb_product_id: exactly4,
    usb_sleep: int(),
    usb_filesystem_label: str(),
    usb_serial_driver: str(),
    available_architectures: list(str()),
    hostname: str(),
    devicetype: str(),
  },
  extra: allow,
  also: (value, path, check) => {
    const deploy = isMapping(value.actions) && isMapping(value.actions.deploy) ? value.actions.deploy : {};
    const ssh = isMapping(deploy.methods) && isMapping(deploy.methods.ssh) ? deploy.methods.ssh : {};
    const power = isMapping(value.commands)
      ? ["power_off", "power_on", "hard_reset"].filter((k) => k in (value.commands as object))
      : [];
    if (ssh.host && power.length > 0) {
      report(
        check,
        [...path, "commands", power[0]],
        "When primary connection is used, power control commands (power_off, power_on, hard_reset) should not be specified.",
      );
    }
  },
});

/** Problems of a parsed device configuration, with key paths. */
export function deviceIssues(config: unknown): Issue[] {
  return validate(deviceSchema, config, false);
}

/** Parses and checks rendered device YAML; diagnostics point into that YAML. */
export function validateDeviceYaml(
  text: string,
  file = "device.yaml",
): { valid: boolean; errors: Diagnostic[]; config: unknown } {
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0) {
    return {
      valid: false,
      config: undefined,
      errors: loaded.errors.map((e) => ({
        file,
        line: e.line,
        column: e.column,
        path: "",
        message: `not valid YAML: ${e.message}`,
      })),
    };
  }
  const errors = deviceIssues(loaded.value).map((issue) => {
    const at = positionOf(loaded, issue.path, issue.atKey);
    return { file, line: at.line, column: at.column, path: formatPath(issue.path), message: issue.message };
  });
  return { valid: errors.length === 0, errors, config: loaded.value };
}
