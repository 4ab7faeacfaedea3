/**
 * The web UI's files: the stylesheet as it is, and the browser bundles, which
 * the project builds itself with `deno bundle` (minified) — at start-up when a
 * source is newer than a bundle, or with `deno task web:build` — and never
 * fetches from anywhere at run time: the islands (preact and the islands every
 * page may have), and a reservation's console (xterm.js and its stylesheet,
 * loaded only by the pages that show a console).
 */
import { join } from "../actors/path.ts";

const WEB = new URL(".", import.meta.url).pathname;
export const STATIC_DIR = join(WEB, "static");
export const BUNDLE = join(STATIC_DIR, "build", "islands.js");
export const CONSOLE_BUNDLE = join(STATIC_DIR, "build", "console.js");
export const CONSOLE_STYLESHEET = join(STATIC_DIR, "build", "xterm.css");

function newest(dir: string): number {
  let time = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory ? newest(path) : Deno.statSync(path).mtime?.getTime() ?? 0);
  }
  return time;
}

/** Builds the bundles unless each is newer than every island and component source. */
export async function buildIslands(force = false): Promise<void> {
  await build(BUNDLE, "client.ts", force);
  await build(CONSOLE_BUNDLE, "console_client.ts", force);
  await copyConsoleStylesheet(force);
}

async function build(bundle: string, entry: string, force: boolean): Promise<void> {
  let built = 0;
  try {
    built = Deno.statSync(bundle).mtime?.getTime() ?? 0;
  } catch { /* not built yet */ }
  let sources: number;
  try {
    // The islands draw the shared components too: a change to either is a change to the bundle.
    sources = Math.max(newest(join(WEB, "islands")), newest(join(WEB, "components")));
  } catch {
    // An installed package has the bundle and not the sources.
    if (built > 0) return;
    throw new Error(`the web UI's bundle ${bundle} is missing and there are no sources to build it from`);
  }
  if (!force && built > sources) return;
  await Deno.mkdir(join(STATIC_DIR, "build"), { recursive: true });
  // Written beside and renamed, so a master starting at the same time never serves half a file.
  const temporary = `${bundle}.${Deno.pid}.tmp`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform=browser", "--minify", "-o", temporary, join(WEB, "islands", entry)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`building the web islands failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  await Deno.rename(temporary, bundle);
}

/** xterm.js's own stylesheet, from its npm package (which building the console's bundle installed), beside it. */
async function copyConsoleStylesheet(force: boolean): Promise<void> {
  const exists = (path: string) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  if (!force && exists(CONSOLE_STYLESHEET)) return;
  const source = new URL(import.meta.resolve("@xterm/xterm/css/xterm.css")).pathname;
  if (!exists(source)) throw new Error(`xterm.js's stylesheet is missing: ${source}`);
  await Deno.copyFile(source, CONSOLE_STYLESHEET);
}

if (import.meta.main) {
  await buildIslands(true);
  console.log(`built ${BUNDLE}`);
}
