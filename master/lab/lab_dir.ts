/**
 * The master's file tree, laid out like LAVA's `/etc/lava-server/dispatcher-config`
 * so an admin can copy theirs in:
 *
 *     <lab-dir>/devices/<hostname>.jinja2       device dictionaries
 *     <lab-dir>/device-types/<type>.jinja2      device-type templates (before Basalt's own)
 *     <lab-dir>/health-checks/<type>.yaml       health-check jobs, by device type or by template
 *
 * A dictionary stored in the database (set through the API) wins over the file.
 */
import { join, resolve } from "../../actors/path.ts";
import { BUILTIN_TEMPLATES, extendedTemplate, renderDevice } from "../devices/dictionary.ts";
import { type JinjaEnvironment, jinjaEnvironment, TemplateError } from "../devices/jinja.ts";
import { JobValueError } from "../devices/job_values.ts";
import { formatDiagnostic } from "../../actors/definitions/job_schema.ts";

/** A device's configuration cannot be produced: LAVA sets such a device Bad. */
export class DeviceConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceConfigurationError";
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function isLink(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink;
  } catch {
    return false;
  }
}

function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

export class LabDir {
  #env: JinjaEnvironment | undefined;
  /**
   * Dictionaries and health checks as last read (undefined: no such file), kept
   * while `watch()` hears of every change: a scheduling pass looks up every idle
   * device's health check, which would otherwise be two or three file reads a
   * device for every job submitted.
   */
  #files: Map<string, string | undefined> | undefined;

  constructor(readonly root: string) {
    for (const sub of ["devices", "device-types", "health-checks"]) {
      Deno.mkdirSync(join(root, sub), { recursive: true });
    }
  }

  get #jinja(): JinjaEnvironment {
    // Built once: the environment caches compiled templates.
    return this.#env ??= jinjaEnvironment([
      join(this.root, "devices"),
      join(this.root, "device-types"),
      BUILTIN_TEMPLATES,
    ]);
  }

  /**
   * Keeps what `dictionaryFile` and `healthCheck` read until the kernel reports a
   * change in `devices/` or `health-checks/` (inotify: nothing is polled), so an
   * admin's edit takes effect at once. Returns the stop; without a watch (or if
   * it ends) every lookup reads the file.
   */
  watch(): () => void {
    const dirs = [join(this.root, "devices"), join(this.root, "health-checks")];
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(dirs, { recursive: false });
    } catch {
      return () => {};
    }
    const watched = new Set(dirs.map((dir) => resolve(dir)));
    const files = new Map<string, string | undefined>();
    this.#files = files;
    const stop = () => {
      if (this.#files === files) this.#files = undefined;
      try {
        watcher.close();
      } catch { /* closed */ }
    };
    (async () => {
      try {
        for await (const event of watcher) {
          // Any change clears everything: changes are rare, and event paths need not be spelled as ours.
          files.clear();
          // The directory itself moved or went (a new one in its place is not watched), or the kernel
          // lost events: from now on every lookup reads the file.
          if (event.kind === "other" || event.paths.some((path) => watched.has(resolve(path)))) break;
        }
      } catch { /* closed */ }
      stop();
    })();
    return stop;
  }

  #read(path: string): string | undefined {
    const files = this.#files;
    if (!files) return readOptional(path);
    if (files.has(path)) return files.get(path);
    const text = readOptional(path);
    // A link's target can change where no event is heard: it is read every time.
    if (text === undefined || !isLink(path)) files.set(path, text);
    return text;
  }

  /** Templates changed on disk (or through the API): compile them anew. */
  reloadTemplates(): void {
    this.#env = undefined;
  }

  dictionaryFile(hostname: string): string | undefined {
    return NAME.test(hostname) ? this.#read(join(this.root, "devices", `${hostname}.jinja2`)) : undefined;
  }

  template(deviceType: string): string | undefined {
    if (!NAME.test(deviceType)) return undefined;
    return readOptional(join(this.root, "device-types", `${deviceType}.jinja2`)) ??
      readOptional(join(BUILTIN_TEMPLATES, `${deviceType}.jinja2`));
  }

  setTemplate(deviceType: string, text: string): void {
    if (!NAME.test(deviceType)) throw new DeviceConfigurationError(`${deviceType} is not a device-type name`);
    Deno.writeTextFileSync(join(this.root, "device-types", `${deviceType}.jinja2`), text);
    this.reloadTemplates();
  }

  /** The health check of a device type: `<type>.yaml`, or LAVA's `<template it extends>.yaml`. */
  healthCheck(deviceType: string, dictionary?: string): string | undefined {
    if (!NAME.test(deviceType)) return undefined;
    const byType = this.#read(join(this.root, "health-checks", `${deviceType}.yaml`)) ??
      this.#read(join(this.root, "health-checks", `${deviceType}.yml`));
    if (byType !== undefined || !dictionary) return byType;
    const extended = extendedTemplate(dictionary)?.replace(/\.jinja2$/, "");
    return extended && NAME.test(extended)
      ? this.#read(join(this.root, "health-checks", `${extended}.yaml`))
      : undefined;
  }

  setHealthCheck(deviceType: string, text: string): void {
    if (!NAME.test(deviceType)) throw new DeviceConfigurationError(`${deviceType} is not a device-type name`);
    Deno.writeTextFileSync(join(this.root, "health-checks", `${deviceType}.yaml`), text);
    // Seen at once, not when the kernel's report of the write arrives.
    this.#files?.clear();
  }

  /**
   * Renders a device's dictionary for one job. Throws {@link JobValueError} when
   * the job's context is to blame (the device renders without it), otherwise
   * {@link DeviceConfigurationError}.
   */
  render(
    device: { hostname: string; deviceType: string; dictionary: string | null },
    context: Record<string, unknown> = {},
  ): string {
    const dictionary = device.dictionary ?? this.dictionaryFile(device.hostname);
    if (dictionary === undefined) {
      throw new DeviceConfigurationError(
        `device ${device.hostname} has no dictionary: set one through the API or put ` +
          `${join(this.root, "devices", `${device.hostname}.jinja2`)}`,
      );
    }
    try {
      return this.#render(device, dictionary, context);
    } catch (error) {
      if (!(error instanceof DeviceConfigurationError) || Object.keys(context).length === 0) throw error;
      try {
        this.#render(device, dictionary, {});
      } catch {
        throw error;
      }
      throw new JobValueError(`the job's context makes the device configuration fail: ${error.message}`);
    }
  }

  #render(
    device: { hostname: string; deviceType: string },
    dictionary: string,
    context: Record<string, unknown>,
  ): string {
    try {
      const rendered = renderDevice(this.#jinja, {
        dictionary,
        name: `${device.hostname}.jinja2`,
        hostname: device.hostname,
        deviceType: device.deviceType,
        context,
      });
      if (rendered.errors.length > 0) {
        throw new DeviceConfigurationError(`invalid device configuration: ${formatDiagnostic(rendered.errors[0])}`);
      }
      return rendered.yaml;
    } catch (error) {
      if (error instanceof TemplateError) throw new DeviceConfigurationError(error.message);
      throw error;
    }
  }
}
