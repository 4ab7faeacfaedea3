/**
 * LAVA's own example files (job definitions, device dictionaries, templates),
 * kept beside the repository in ../shared/lava-examples, as test data.
 */
import { join } from "node:path";

/** `BASALT_LAVA_EXAMPLES`, or `../shared/lava-examples` beside the repository. */
export const LAVA_EXAMPLES = (() => {
  const given = Deno.env.get("BASALT_LAVA_EXAMPLES");
  if (given) return given.endsWith("/") ? given : `${given}/`;
  return new URL("../../../shared/lava-examples/", import.meta.url).pathname;
})();

/** The example files of one folder, sorted, as [name, path, text]. */
export function exampleFiles(folder: string, extension = ".yaml"): [string, string, string][] {
  const dir = join(LAVA_EXAMPLES, folder);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    throw new Error(`LAVA example files are missing (${dir}): ${(error as Error).message}`);
  }
  return entries
    .filter((e) => e.isFile && e.name.endsWith(extension))
    .map((e) => e.name)
    .sort()
    .map((name) => [name, join(dir, name), Deno.readTextFileSync(join(dir, name))]);
}

/**
 * LAVA 2023.01 as Debian ships it, unpacked by `tools/fetch-lava-reference.sh` (`.ci/run` does it):
 * `BASALT_LAVA_REFERENCE`, or `/var/cache/basalt-lava`. Tests that compare Basalt with LAVA read it.
 */
export const LAVA_REFERENCE = Deno.env.get("BASALT_LAVA_REFERENCE") ?? "/var/cache/basalt-lava";

/** A path inside the LAVA reference; throws, saying how to get it, when it is not there. */
export function lavaReference(relative: string): string {
  const path = join(LAVA_REFERENCE, relative);
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(
      `LAVA's reference files are missing (${path}): run tools/fetch-lava-reference.sh ${LAVA_REFERENCE}`,
    );
  }
  return path;
}
