/**
 * A firmware menu as the device's configuration describes it (LAVA's
 * `uefi-menu` method, and the menus `grub-efi` and `uefi`'s `shell_menu` go
 * through): how items look ("[3] Boot Manager": markup, number class, separator,
 * label class), the prompts, and the named sequences of selections a job may
 * name. Read when a boot needs it, so a device whose menu is incomplete fails
 * only the jobs that use it, with LAVA's message and the field named.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { ConfigurationError } from "../job/errors.ts";
import { Reader } from "./device.ts";

/** One step of a menu sequence: LAVA's `select:` keys. */
export interface MenuStep {
  /** Labels to choose, in turn, from the menu last shown. */
  readonly items?: readonly string[];
  /** A label chosen instead when an item is not in the menu. */
  readonly fallback?: string;
  /** What the menu shows once this step is sent (awaited after it). */
  readonly wait?: string;
  /** Text typed and ended with a carriage return (Ctrl-M). */
  readonly enter?: string;
  /** Whether the escape key is pressed. */
  readonly escape?: boolean;
}

export interface MenuResource {
  /** The boot method whose parameters these are. */
  readonly method: string;
  readonly interruptPrompt?: string;
  readonly interruptString?: string;
  /** What encloses an item's number: ["[", "]"]. */
  readonly itemMarkup: readonly [string, string];
  /** The characters of an item's number, as a regular-expression class body: "0-9". */
  readonly itemClass: string;
  readonly separator: string;
  /** The characters of an item's label, as a class body (LAVA's default: letters, digits, spaces and ':'). */
  readonly labelClass: string;
  /** The menu's own prompt ("Start:"). */
  readonly prompt: string;
  /** What the firmware prints when it starts what was chosen, awaited after the sequence when set. */
  readonly bootMessage?: string;
  /** What ends a selection typed: "\r\n" (LAVA's `dos`, the default) or "\n" (`unix`). */
  readonly lineSeparator: string;
  /** The device's named sequences (the method's mappings that are lists of `select:` steps). */
  readonly sequences: Readonly<Record<string, readonly MenuStep[]>>;
  /** The sequence that starts GRUB, for `grub-efi` (the method's `menu_options`). */
  readonly menuOptions?: string;
  /** For `uefi`'s shell_menu: the menu's prompt when not the method's bootloader_prompt (`menu_prompt`). */
  readonly menuPrompt?: string;
  /** For `uefi`'s shell_menu: what the firmware prints once the shell is chosen (`menu_boot_message`). */
  readonly menuBootMessage?: string;
}

/** LAVA's DEFAULT_UEFI_LABEL_CLASS. */
export const DEFAULT_LABEL_CLASS = "a-zA-Z0-9\\s\\:";
const STEP_KEYS = new Set(["items", "fallback", "wait", "enter", "escape", "prompt"]);

/**
 * The menu of boot method `method` in device configuration `config`; `lineSeparator` is the job's own
 * (`line_separator` in its boot block), which wins over the method's, as in LAVA.
 */
export function menuResource(config: unknown, method: string, lineSeparator?: unknown): MenuResource {
  const r = new Reader(isMapping(config) ? config : {});
  const base = ["actions", "boot", "methods", method];
  if (!isMapping(r.at(base))) throw new ConfigurationError(`the device has no ${method} boot method`);
  const parameters = [...base, "parameters"];
  const markupPath = [...parameters, "item_markup"];
  if ([markupPath, [...parameters, "item_class"], [...parameters, "separator"]].some((p) => r.at(p) === undefined)) {
    throw new ConfigurationError(
      `Missing device parameters for UEFI menu operations (${markupPath.join(".")}, item_class and separator)`,
    );
  }
  const markup = r.words(markupPath);
  if (markup.length !== 2) {
    throw new ConfigurationError(
      `device configuration ${markupPath.join(".")}: must be the two strings around a number`,
    );
  }
  const separatorKind = typeof lineSeparator === "string" ? lineSeparator : r.text([...base, "line_separator"], "dos");
  if (separatorKind !== "dos" && separatorKind !== "unix") {
    const where = typeof lineSeparator === "string" ? "the job's line_separator" : `${base.join(".")}.line_separator`;
    throw new ConfigurationError(`${where}: Unrecognised line separator configuration (dos or unix)`);
  }
  const sequences: Record<string, readonly MenuStep[]> = {};
  for (const [name, value] of Object.entries(r.mapping(base))) {
    if (name === "parameters" || !Array.isArray(value)) continue;
    sequences[name] = value.map((step, i) => menuStep(step, [...base, name, String(i)].join(".")));
  }
  const resource: MenuResource = {
    method,
    itemMarkup: [markup[0], markup[1]],
    itemClass: r.text([...parameters, "item_class"], ""),
    separator: r.text([...parameters, "separator"], ""),
    labelClass: r.text([...parameters, "label_class"], DEFAULT_LABEL_CLASS),
    prompt: r.text([...parameters, "bootloader_prompt"], "Start:"),
    lineSeparator: separatorKind === "dos" ? "\r\n" : "\n",
    sequences,
    ...defined("interruptPrompt", r.text([...parameters, "interrupt_prompt"])),
    ...defined("interruptString", r.text([...parameters, "interrupt_string"])),
    ...defined("bootMessage", r.text([...parameters, "boot_message"])),
    ...defined("menuOptions", r.text([...base, "menu_options"])),
    ...defined("menuPrompt", r.text([...parameters, "menu_prompt"])),
    ...defined("menuBootMessage", r.text([...parameters, "menu_boot_message"])),
  };
  // A class that is no regular expression is the device's error, said before the device is touched.
  itemPattern(resource);
  return resource;
}

/** The pattern of one menu line, "[3] Boot Manager": the number in group 1, the label in group 2. */
export function itemPattern(menu: MenuResource): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  const source = `${escape(menu.itemMarkup[0])}([${menu.itemClass}]+)${escape(menu.itemMarkup[1])}` +
    `${menu.separator}([${menu.labelClass}]*)`;
  try {
    return new RegExp(source);
  } catch (error) {
    throw new ConfigurationError(
      `actions.boot.methods.${menu.method}.parameters: item_class, separator or label_class make no regular ` +
        `expression (${source}): ${(error as Error).message}`,
    );
  }
}

function menuStep(step: unknown, where: string): MenuStep {
  if (!isMapping(step) || !isMapping(step.select)) {
    throw new ConfigurationError(`${where}: Unable to recognise selection ${JSON.stringify(step)?.slice(0, 80)}`);
  }
  const select = step.select;
  const unknown = Object.keys(select).filter((k) => !STEP_KEYS.has(k));
  if (unknown.length > 0) {
    throw new ConfigurationError(`${where}.select: Unable to recognise item ${unknown.join(", ")}`);
  }
  const text = (key: string): string | undefined => {
    const value = select[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string" || typeof value === "number") return String(value);
    throw new ConfigurationError(`${where}.select.${key}: must be a string`);
  };
  let items: string[] | undefined;
  if (select.items !== undefined) {
    const list = Array.isArray(select.items) ? select.items : [select.items];
    if (!list.every((i) => typeof i === "string" || typeof i === "number")) {
      throw new ConfigurationError(`${where}.select.items: must be a list of labels`);
    }
    items = list.map(String);
  }
  return {
    ...(items ? { items } : {}),
    ...defined("fallback", text("fallback")),
    ...defined("wait", text("wait")),
    ...defined("enter", text("enter")),
    // As LAVA: the key's presence sends the escape, whatever its value.
    ...(Object.hasOwn(select, "escape") ? { escape: true } : {}),
  };
}

function defined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
