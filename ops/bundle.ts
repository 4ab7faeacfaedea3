/**
 * One program as one JavaScript file (`deno bundle`), as the packages ship it
 * and the soak runs it.
 *
 * The dispatcher is bundled with the browser's export conditions: one process
 * starts per job, and under them `yaml` resolves to its ES module build, which
 * needs neither `node:process` nor the CommonJS loader (`node:module`) — loading
 * those costs a dispatcher about 50 ms of CPU before it reads its job. Its other
 * packages are the same under either condition, but for `serialport`'s `debug`
 * (loaded only when a local serial line is opened), whose browser variant also
 * takes its `DEBUG` setting from the environment. The other programs keep
 * Deno's conditions.
 */
const ROOT = new URL("..", import.meta.url).pathname;

/** Entry modules (relative to the repository) bundled with the browser's conditions. */
const BROWSER_CONDITIONS = new Set(["worker/dispatch/main.ts"]);

/** Bundles `entry` (relative to the repository) into `output` (absolute, or relative to the repository). */
export async function bundle(entry: string, output: string): Promise<void> {
  const platform = BROWSER_CONDITIONS.has(entry) ? "browser" : "deno";
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", `--platform=${platform}`, "-o", output, entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
}
