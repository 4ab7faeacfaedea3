import { assertEquals } from "../tests/support/assert.ts";
import * as node from "node:path";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve } from "./path.ts";

// Every path of up to five pieces from these: what the lab's paths are made of, and the odd cases.
const PIECES = ["a", "bc", ".", "..", "/", "//", "", ".x", "x."];
function* paths(depth: number): Generator<string> {
  yield "";
  if (depth === 0) return;
  for (const piece of PIECES) for (const rest of paths(depth - 1)) yield piece + rest;
}
const ALL = [...new Set(paths(4))];

Deno.test("each path function answers as node:path's POSIX one does, for every short path", () => {
  for (const p of ALL) {
    assertEquals(normalize(p), node.posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    assertEquals(dirname(p), node.posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assertEquals(basename(p), node.posix.basename(p), `basename(${JSON.stringify(p)})`);
    assertEquals(isAbsolute(p), node.posix.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
    assertEquals(resolve(p), node.posix.resolve(p), `resolve(${JSON.stringify(p)})`);
    assertEquals(
      resolve("/srv/lab", p),
      node.posix.resolve("/srv/lab", p),
      `resolve("/srv/lab", ${JSON.stringify(p)})`,
    );
    assertEquals(join("/srv", p, "f"), node.posix.join("/srv", p, "f"), `join("/srv", ${JSON.stringify(p)}, "f")`);
    assertEquals(join(p, p), node.posix.join(p, p), `join(${JSON.stringify(p)} twice)`);
    assertEquals(relative("/srv/lab/a", p), node.posix.relative("/srv/lab/a", p), `relative(…, ${JSON.stringify(p)})`);
    assertEquals(relative(p, "/srv/lab"), node.posix.relative(p, "/srv/lab"), `relative(${JSON.stringify(p)}, …)`);
  }
});

Deno.test("joining nothing or only empty parts is the current directory", () => {
  assertEquals(join(), ".");
  assertEquals(join("", ""), ".");
});
