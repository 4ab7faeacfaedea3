import { assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import type { Catalog } from "./catalog.ts";
import { MAX_UNADOPTED_WORKERS, workerSessionRefusal } from "./worker_admission.ts";

function catalog(workers: string[], devices: Record<string, string> = {}) {
  return {
    workers: new Map(workers.map((w) => [w, { hostname: w }])),
    devices: new Map(Object.entries(devices).map(([d, worker]) => [d, { hostname: d, worker }])),
  } as unknown as Pick<Catalog, "workers" | "devices">;
}

const unadopted = Array.from({ length: MAX_UNADOPTED_WORKERS }, (_, i) => `idle-${i}`);

Deno.test("a known worker may always open a session, even past the bound", () => {
  assertEquals(workerSessionRefusal(catalog(unadopted), "idle-3", false), undefined);
});

Deno.test("an unknown worker registers itself until the lab holds the bound of workers without devices", () => {
  assertEquals(workerSessionRefusal(catalog(unadopted.slice(1)), "new-1", false), undefined);
  const refusal = workerSessionRefusal(catalog(unadopted), "new-1", false);
  assertStringIncludes(refusal ?? "", "manage workers add new-1");
});

Deno.test("workers with devices do not count towards the bound", () => {
  const lab = catalog([...unadopted, "busy"], { qemu01: "idle-0", qemu02: "idle-1" });
  assertEquals(workerSessionRefusal(lab, "new-1", false), undefined);
});

Deno.test("a worker proved by its CurveZMQ key is not held by the bound", () => {
  assertEquals(workerSessionRefusal(catalog(unadopted), "new-1", true), undefined);
});

Deno.test("a name the database would refuse is refused before it is registered, with or without a key", () => {
  for (const name of ["evil:colon", "evil/slash", "evil@at", `x${"y".repeat(200)}`]) {
    assertStringIncludes(workerSessionRefusal(catalog([]), name, true) ?? "", "cannot be a worker's name");
  }
});

Deno.test("a LAVA worker's name opens no mailbox session, key or not: it joins over HTTP with its token", () => {
  const lab = catalog(["lava-w1"]);
  (lab.workers.get("lava-w1") as { lavaTokenHash?: string }).lavaTokenHash = "a".repeat(64);
  for (const authenticated of [false, true]) {
    assertStringIncludes(workerSessionRefusal(lab, "lava-w1", authenticated) ?? "", "is a LAVA worker");
  }
});
