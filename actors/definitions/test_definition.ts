/**
 * A Lava-Test test definition checked against LAVA's schema for one
 * (`metadata` with its format and name, `install`, `params`, `parse`,
 * `run.steps`; other keys allowed), with the first problem named as
 * voluptuous names it: `expected str @ data['run']['steps'][0]`.
 */
import { isMapping } from "./schema.ts";

const FORMAT = "Lava-Test Test Definition 1.0";
const RESULTS = ["pass", "fail", "skip", "unknown"];

type Path = readonly (string | number)[];

class Invalid extends Error {}

function at(path: Path): string {
  return path.length ? ` @ data${path.map((p) => (typeof p === "number" ? `[${p}]` : `['${p}']`)).join("")}` : "";
}

function fail(message: string, path: Path): never {
  throw new Invalid(`${message}${at(path)}`);
}

function mapping(value: unknown, path: Path): Record<string, unknown> {
  if (!isMapping(value)) {
    fail(path.length ? "expected a dictionary for dictionary value" : "expected a dictionary", path);
  }
  return value;
}

function strings(value: unknown, path: Path): void {
  if (!Array.isArray(value)) fail("expected list for dictionary value", path);
  value.forEach((item, i) => {
    if (typeof item !== "string") fail("expected str", [...path, i]);
  });
}

function check(data: unknown): void {
  const root = mapping(data, []);
  if (!("metadata" in root)) fail("required key not provided", ["metadata"]);
  const metadata = mapping(root.metadata, ["metadata"]);
  if (!("format" in metadata)) fail("required key not provided", ["metadata", "format"]);
  if (metadata.format !== FORMAT) fail("not a valid value for dictionary value", ["metadata", "format"]);
  if (!("name" in metadata)) fail("required key not provided", ["metadata", "name"]);
  if (typeof metadata.name !== "string") fail("expected str for dictionary value", ["metadata", "name"]);
  if ("description" in metadata && typeof metadata.description !== "string") {
    fail("expected str for dictionary value", ["metadata", "description"]);
  }
  for (const key of ["environment", "devices", "maintainer", "scope", "os"]) {
    if (key in metadata) strings(metadata[key], ["metadata", key]);
  }
  if ("install" in root) {
    const install = mapping(root.install, ["install"]);
    for (const [key, value] of Object.entries(install)) {
      if (["deps", "git-repos", "keys", "steps", "sources"].includes(key) || /^deps-.+/.test(key)) {
        strings(value, ["install", key]);
      }
    }
  }
  for (const key of ["parameters", "params"]) if (key in root) mapping(root[key], [key]);
  if ("parse" in root) {
    const parse = mapping(root.parse, ["parse"]);
    if ("fixupdict" in parse) {
      const fixups = mapping(parse.fixupdict, ["parse", "fixupdict"]);
      for (const [key, value] of Object.entries(fixups)) {
        if (!RESULTS.includes(String(value))) {
          fail("not a valid value for dictionary value", ["parse", "fixupdict", key]);
        }
      }
    }
  }
  if ("run" in root) {
    const run = mapping(root.run, ["run"]);
    if (!("steps" in run)) fail("required key not provided", ["run", "steps"]);
    strings(run.steps, ["run", "steps"]);
  }
}

/** undefined when `data` (parsed YAML) is a valid test definition, else the first problem. */
export function testDefinitionProblem(data: unknown): string | undefined {
  try {
    check(data);
    return undefined;
  } catch (error) {
    if (error instanceof Invalid) return error.message;
    throw error;
  }
}
