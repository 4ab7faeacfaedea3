/**
 * The web UI's files: the stylesheet as it is, and the islands' browser bundle,
 * which the project builds itself with `deno bundle` (preact and the islands,
 * minified) — at start-up when a source is newer than the bundle, or with
 * `deno task web:build` — and never fetches from anywhere at run time.
 */
import { join } from "node:path";

const WEB = new URL(".", import.meta.url).pathname;
export const STATIC_DIR = join(WEB, "static");
export const BUNDLE = join(STATIC_DIR, "build", "islands.js");

function newest(dir: string): number {
  let time = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory ? newest(path) : Deno.statSync(path).mtime?.getTime() ?? 0);
  }
  return time;
}

/** Builds the bundle unless it is newer than every island and component source. */
export async function buildIslands(force = false): Promise<void> {
  let built = 0;
  try {
    built = Deno.statSync(BUNDLE).mtime?.getTime() ?? 0;
  } catch { /* not built yet */ }
  let sources: number;
  try {
    // The islands draw the shared components too: a change to either is a change to the bundle.
    sources = Math.max(newest(join(WEB, "islands")), newest(join(WEB, "components")));
  } catch {
    // An installed package has the bundle and not the sources.
    if (built > 0) return;
    throw new Error(`the web UI's bundle ${BUNDLE} is missing and there are no sources to build it from`);
  }
  if (!force && built > sources) return;
  await Deno.mkdir(join(STATIC_DIR, "build"), { recursive: true });
  // Written beside and renamed, so a master starting at the same time never serves half a file.
  const temporary = `${BUNDLE}.${Deno.pid}.tmp`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform=browser", "--minify", "-o", temporary, join(WEB, "islands", "client.ts")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`building the web islands failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  await Deno.rename(temporary, BUNDLE);
}

if (import.meta.main) {
  await buildIslands(true);
  console.log(`built ${BUNDLE}`);
}
