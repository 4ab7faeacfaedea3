/**
 * The environment a dispatch process runs in, from a LAVA `env.yaml`:
 *
 *     purge: true            # start from nothing rather than the worker's environment
 *     removes: [http_proxy]  # then drop these
 *     overrides: {LC_ALL: C.UTF-8, PATH: /usr/local/bin:/usr/bin:/bin}
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";

export interface DispatchEnvironment {
  readonly purge: boolean;
  readonly removes: readonly string[];
  readonly overrides: Readonly<Record<string, string>>;
}

export class EnvironmentFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "EnvironmentFileError";
  }
}

/** Reads an env.yaml's text; `file` names it in errors. */
export function parseEnvironment(text: string, file: string): DispatchEnvironment {
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0) throw new EnvironmentFileError(file, loaded.errors[0].message);
  const value = loaded.value ?? {};
  if (!isMapping(value)) throw new EnvironmentFileError(file, "must be a mapping with purge, removes and overrides");
  const { purge = false, removes = [], overrides = {} } = value as Record<string, unknown>;
  if (typeof purge !== "boolean") throw new EnvironmentFileError(file, "purge must be true or false");
  if (!Array.isArray(removes) || !removes.every((r) => typeof r === "string")) {
    throw new EnvironmentFileError(file, "removes must be a list of variable names");
  }
  if (!isMapping(overrides)) throw new EnvironmentFileError(file, "overrides must be a mapping of names to values");
  return {
    purge,
    removes,
    overrides: Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, v === null ? "" : String(v)])),
  };
}

/** The variables a dispatch process gets, given the worker's own. */
export function applyEnvironment(
  settings: DispatchEnvironment | undefined,
  current: Record<string, string>,
): Record<string, string> {
  if (!settings) return { ...current };
  const result: Record<string, string> = settings.purge ? {} : { ...current };
  for (const name of settings.removes) delete result[name];
  return { ...result, ...settings.overrides };
}
