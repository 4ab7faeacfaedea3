/**
 * LAVA's own example files (job definitions, device dictionaries, templates),
 * kept beside the repository in ../shared/lava-examples, as test data.
 */
import { join } from "../../actors/path.ts";
import { PATHS } from "../../ops/setup.ts";

/** `BASALT_LAVA_EXAMPLES`, or `../shared/lava-examples` beside the repository, with a trailing slash. */
export const LAVA_EXAMPLES = PATHS.lavaExamples.endsWith("/") ? PATHS.lavaExamples : `${PATHS.lavaExamples}/`;

/**
 * Why LAVA's example files cannot be read here, or undefined when they can. They are LAVA's files, not part of this
 * repository: a clone without them beside it skips the tests that read them, and says so.
 */
export const LAVA_EXAMPLES_MISSING: string | undefined = (() => {
  try {
    Deno.statSync(join(LAVA_EXAMPLES, "jobs"));
    return undefined;
  } catch {
    return `LAVA's example files are not in ${LAVA_EXAMPLES} (BASALT_LAVA_EXAMPLES names another place)`;
  }
})();

/**
 * A test that reads LAVA's example files: ignored, with the reason in its name, where they are missing.
 *
 * @example
 * testWithExamples("every LAVA example job validates", () => { ... exampleFiles("jobs") ... });
 */
export function testWithExamples(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  const missing = LAVA_EXAMPLES_MISSING;
  Deno.test({ name: missing ? `${name} [skipped: ${missing}]` : name, ignore: missing !== undefined, fn });
}

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
export const LAVA_REFERENCE = PATHS.lavaReference;

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
