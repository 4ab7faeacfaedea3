/**
 * Names a job controls (a URL's last segment, an image key, a test definition's
 * `path:` and `name:`, `lava_test_results_dir`, a `file://` URL), turned into
 * paths on the worker — always inside the directory they belong to, or refused
 * with a {@link JobError} that names the action and field.
 *
 * Lexical checks stop `..` and absolute names; the real-path checks stop
 * symlinks (a cloned repository may hold `testdef.yaml -> /etc/shadow`).
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from "../../actors/path.ts";
import { JobError } from "./errors.ts";

/** Whether `path` is `dir` or below it (both absolute and normalised). */
export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Whether `text` holds a control character (NUL, newline, escape...). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}

export interface ResolveOptions {
  /** Take an absolute name as relative to `root` (a device path like `/lava-42`). */
  readonly rooted?: boolean;
}

/**
 * `name` resolved inside `root`, or a JobError saying `what` (the action and
 * field: "http-download images.kernel.url") and why.
 *
 * ```ts
 * resolveInside("/w/downloads", "kernel", "http-download images key"); // "/w/downloads/kernel"
 * resolveInside("/w", "../etc/cron.d/x", "..."); // throws JobError
 * ```
 */
export function resolveInside(root: string, name: string, what: string, options: ResolveOptions = {}): string {
  if (CONTROL.test(name)) throw new JobError(`${what}: ${JSON.stringify(name)} contains control characters`);
  if (isAbsolute(name) && !options.rooted) throw new JobError(`${what}: ${JSON.stringify(name)} must be relative`);
  const base = resolve(root);
  const path = resolve(base, name.replace(/^\/+/, ""));
  if (!isWithin(base, path)) throw new JobError(`${what}: ${JSON.stringify(name)} points outside its directory`);
  return path;
}

/**
 * A single file name (no directory part) inside `root`: `k%2F..%2Fetc` decoded
 * from a URL is refused, not followed.
 */
export function fileNameInside(root: string, name: string, what: string): string {
  if (name === "" || name === "." || name === ".." || name.includes("/")) {
    throw new JobError(`${what}: ${JSON.stringify(name)} is not a plain file name`);
  }
  return resolveInside(root, name, what);
}

async function realPathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The real path of the deepest part of `path` that exists (symlinks followed). */
async function realExistingPrefix(path: string): Promise<string> {
  let current = path;
  const rest: string[] = [];
  while (true) {
    const real = await realPathOrUndefined(current);
    if (real !== undefined) return join(real, ...rest.reverse());
    const parent = resolve(current, "..");
    if (parent === current) return path;
    rest.push(basename(current));
    current = parent;
  }
}

/**
 * Like {@link resolveInside}, and the path stays inside `root` once symlinks
 * are followed: for reading a file a job supplied the tree of (a git clone).
 */
export async function realPathInside(
  root: string,
  name: string,
  what: string,
  options: ResolveOptions = {},
): Promise<string> {
  const path = resolveInside(root, name, what, options);
  const realRoot = await realExistingPrefix(resolve(root));
  const real = await realExistingPrefix(path);
  if (!isWithin(realRoot, real)) {
    throw new JobError(`${what}: ${JSON.stringify(name)} leads outside its directory through a symbolic link`);
  }
  return real;
}

/**
 * Writes `data` to `name` inside `root` without following a symlink or
 * overwriting through one that a job's files put there: an existing entry is
 * removed first and the file is created anew.
 */
export async function writeInside(
  root: string,
  name: string,
  data: string | Uint8Array,
  what: string,
  options: { mode?: number } = {},
): Promise<string> {
  const lexical = resolveInside(root, name, what);
  const parent = await realExistingPrefix(dirname(lexical));
  if (!isWithin(await realExistingPrefix(resolve(root)), parent)) {
    throw new JobError(`${what}: ${JSON.stringify(name)} leads outside its directory through a symbolic link`);
  }
  // The last part itself may be a symlink: replaced, never followed.
  const path = join(parent, basename(lexical));
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await Deno.writeFile(path, bytes, { createNew: true, mode: options.mode });
  return path;
}

/**
 * A local file a job names (`file://` URL, a local git repository), allowed
 * only when its real path is inside one of `dirs` — the worker's image stores,
 * never its keys or state.
 */
export async function confinedLocalPath(path: string, dirs: readonly string[], what: string): Promise<string> {
  const allowed = dirs.length ? dirs.join(", ") : "none";
  if (CONTROL.test(path) || !isAbsolute(path)) {
    throw new JobError(`${what}: ${JSON.stringify(path)} is not an absolute path (allowed directories: ${allowed})`);
  }
  const real = await realExistingPrefix(resolve(path));
  for (const dir of dirs) {
    const realDir = await realPathOrUndefined(resolve(dir));
    if (realDir !== undefined && isWithin(realDir, real)) return real;
  }
  throw new JobError(
    `${what}: ${path} is outside the directories this worker serves local files from (allowed: ${allowed})`,
  );
}
