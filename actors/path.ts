/**
 * POSIX path arithmetic with the meaning `node:path` gives it, for every
 * process of the lab. It is ours rather than `node:path` because one dispatch
 * process starts per job: importing any `node:` module makes Deno load and
 * compile its Node compatibility layer first, several milliseconds of CPU a
 * job spent before the job is read. Pure string work: nothing here touches the
 * filesystem but `resolve`, which reads the working directory.
 */

/** `.` and `..` folded away, slashes collapsed; `..` above the root of an absolute path is dropped. */
function fold(path: string, absolute: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** The shortest equivalent path; a trailing slash is kept, an empty path is `.`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  let folded = fold(path, absolute);
  if (folded === "" && !absolute) folded = ".";
  if (folded !== "" && path.endsWith("/")) folded += "/";
  return absolute ? `/${folded}` : folded;
}

/** The parts joined by slashes and normalized; empty parts are skipped, nothing at all is `.`. */
export function join(...parts: string[]): string {
  const joined = parts.filter((part) => part !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** The absolute path the parts lead to from the working directory, without a trailing slash. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(path); i--) {
    if (parts[i] !== "") path = path === "" ? parts[i] : `${parts[i]}/${path}`;
  }
  if (!isAbsolute(path)) path = path === "" ? Deno.cwd() : `${Deno.cwd()}/${path}`;
  return `/${fold(path, true)}`;
}

/** The path from `from` to `to` (both resolved first); empty when they are the same. */
export function relative(from: string, to: string): string {
  const source = resolve(from).split("/").filter((s) => s !== "");
  const target = resolve(to).split("/").filter((s) => s !== "");
  let common = 0;
  while (common < source.length && common < target.length && source[common] === target[common]) common++;
  return [...source.slice(common).map(() => ".."), ...target.slice(common)].join("/");
}

/**
 * Everything before the last segment (trailing slashes ignored): `.` when there
 * is none, `/` at the root. As `node:path`, only the one slash before the last
 * segment is cut (`a//b` gives `a/`).
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  const slash = path.lastIndexOf("/", end - 1);
  if (slash < 0) return ".";
  if (slash === 0) return "/";
  // "//a" is under "//": POSIX leaves what two leading slashes mean to the system.
  return slash === 1 && path[0] === "/" ? "//" : path.slice(0, slash);
}

/** The last segment, trailing slashes ignored. */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}
