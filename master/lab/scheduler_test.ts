import { assertEquals } from "../../tests/support/assert.ts";
import type { QueuedJob } from "./queue.ts";
import { Scheduler, type SchedulerDevice } from "./scheduler.ts";

let nextId = 1;
function job(fields: Partial<QueuedJob> = {}): QueuedJob {
  const id = fields.id ?? nextId++;
  return { id, deviceType: "qemu", priority: 50, submitTime: 1000 + id, tags: [], submitter: 1, ...fields };
}

/** A scheduler with workers w1, w2 online and the given devices Idle and Good. */
function lab(devices: Partial<SchedulerDevice & { hostname: string }>[], limits: Record<string, number> = {}) {
  const scheduler = new Scheduler(() => 0);
  for (const w of ["w1", "w2"]) scheduler.setWorker({ hostname: w, schedulable: true, jobLimit: limits[w] ?? 0 });
  for (const d of devices) {
    scheduler.setDevice({
      hostname: d.hostname!,
      deviceType: d.deviceType ?? "qemu",
      worker: d.worker === undefined ? "w1" : d.worker,
      tags: d.tags ?? new Set(),
    });
    scheduler.deviceChanged(d.hostname!, "Idle", "Good");
  }
  const placed = (candidates?: string[]) => scheduler.decide(candidates).map((a) => `${a.job.id}@${a.device}`).sort();
  return { scheduler, placed };
}

Deno.test("the queued job of highest priority is placed first, then the oldest", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }]);
  scheduler.queue.addMany([
    job({ id: 1, priority: 50, submitTime: 1 }),
    job({ id: 2, priority: 100, submitTime: 3 }),
    job({ id: 3, priority: 100, submitTime: 2 }),
  ]);
  assertEquals(placed(), ["3@d1"]);
  assertEquals(scheduler.queue.has(3), false);
});

Deno.test("a job goes only to a device of its type", () => {
  const { scheduler, placed } = lab([{ hostname: "d1", deviceType: "bbb" }]);
  scheduler.queue.add(job({ id: 1, deviceType: "qemu" }));
  assertEquals(placed(), []);
  scheduler.queue.add(job({ id: 2, deviceType: "bbb" }));
  assertEquals(placed(), ["2@d1"]);
});

Deno.test("a job's tags must all be the device's, so a tagged job skips an untagged device", () => {
  const { scheduler, placed } = lab([{ hostname: "plain" }, { hostname: "big", tags: new Set(["big", "usb"]) }]);
  scheduler.queue.addMany([job({ id: 1, tags: ["big", "usb"], priority: 100 }), job({ id: 2, tags: ["gpu"] })]);
  assertEquals(placed(["plain"]), []);
  assertEquals(placed(["big"]), ["1@big"]);
});

Deno.test("a requested device or worker is honoured", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2", worker: "w2" }]);
  scheduler.queue.addMany([job({ id: 1, requestedDevice: "d2" }), job({ id: 2, requestedWorker: "w2" })]);
  assertEquals(placed(["d1"]), []);
  assertEquals(placed(["d2"]), ["1@d2"]);
});

Deno.test("a job goes only to a worker whose dispatcher runs its methods; one that never said is trusted", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2", worker: "w2" }]);
  const runs = (boot: string[]) => ({ deploy: ["tmpfs"], boot, test: ["definitions"] });
  scheduler.setWorker({ hostname: "w1", schedulable: true, jobLimit: 0, capabilities: runs(["qemu"]) });
  scheduler.setWorker({ hostname: "w2", schedulable: true, jobLimit: 0, capabilities: runs(["qemu", "fastboot"]) });
  const needs = (boot: string) => ({ deploy: ["tmpfs"], boot: [boot], test: ["definitions"] });
  scheduler.queue.addMany([job({ id: 1, requires: needs("fastboot") }), job({ id: 2, requires: needs("grub") })]);
  assertEquals(placed(["d1"]), []);
  assertEquals(placed(["d2"]), ["1@d2"]);
  scheduler.setWorker({ hostname: "w1", schedulable: true, jobLimit: 0 });
  assertEquals(placed(["d1"]), ["2@d1"]);
});

Deno.test("a device takes only the jobs of users the submit rule allows on it", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2" }]);
  let allowed = new Set(["2@d2"]);
  scheduler.setSubmitRule((user, host) => allowed.has(`${user}@${host}`));
  scheduler.queue.add(job({ id: 1, submitter: 2 }));
  assertEquals(placed(["d1"]), []);
  allowed = new Set(["2@d1"]);
  assertEquals(placed(["d1"]), ["1@d1"]);
});

Deno.test("only Idle devices of Good or Unknown health take jobs", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }]);
  scheduler.queue.add(job({ id: 1 }));
  for (const health of ["Bad", "Maintenance", "Retired", "Looping"] as const) {
    scheduler.deviceChanged("d1", "Idle", health);
    assertEquals(placed(), [], health);
  }
  scheduler.deviceChanged("d1", "Reserved", "Good");
  assertEquals(placed(), []);
  scheduler.deviceChanged("d1", "Idle", "Unknown");
  assertEquals(placed(), ["1@d1"]);
});

Deno.test("an assigned device stays claimed until its job reserves it and is free again when it is Idle", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }]);
  scheduler.queue.addMany([job({ id: 1 }), job({ id: 2 })]);
  assertEquals(placed(), ["1@d1"]);
  assertEquals(scheduler.status("d1")?.claimed, true);
  scheduler.deviceChanged("d1", "Idle", "Good");
  assertEquals(placed(), [], "a claim outlives a health change while Idle");
  scheduler.deviceChanged("d1", "Reserved", "Good");
  assertEquals(scheduler.status("d1")?.claimed, false);
  assertEquals(scheduler.busy("w1"), 1);
  scheduler.deviceChanged("d1", "Idle", "Good");
  assertEquals(scheduler.busy("w1"), 0);
  assertEquals(placed(), ["2@d1"]);
});

Deno.test("a device given back after a failed start takes the next job", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }]);
  scheduler.queue.addMany([job({ id: 1 }), job({ id: 2 })]);
  assertEquals(placed(), ["1@d1"]);
  scheduler.unclaim("d1");
  assertEquals(scheduler.busy("w1"), 0);
  assertEquals(placed(), ["2@d1"]);
});

Deno.test("a worker's job limit counts its reserved, running and claimed devices", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2" }, { hostname: "d3" }], { w1: 2 });
  scheduler.queue.addMany([job({ id: 1 }), job({ id: 2 }), job({ id: 3 })]);
  assertEquals(placed().length, 2);
  assertEquals(scheduler.busy("w1"), 2);
  assertEquals(scheduler.workerHasRoom("w1"), false);
  assertEquals(placed(), []);
});

Deno.test("devices of an offline or inactive worker, or of none, take no job", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d0", worker: null }]);
  scheduler.queue.add(job({ id: 1 }));
  scheduler.setWorker({ hostname: "w1", schedulable: false, jobLimit: 0 });
  assertEquals(placed(), []);
  assertEquals(scheduler.workerHasRoom(null), false);
  scheduler.setWorker({ hostname: "w1", schedulable: true, jobLimit: 0 });
  assertEquals(placed(), ["1@d1"]);
});

Deno.test("a MultiNode group is placed whole in one decision, or not at all", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "b1", deviceType: "bbb" }]);
  scheduler.queue.addMany([
    job({ id: 1, group: "g", deviceType: "qemu" }),
    job({ id: 2, group: "g", deviceType: "bbb" }),
    job({ id: 3, group: "g", deviceType: "bbb" }),
    job({ id: 4, deviceType: "qemu", priority: 0 }),
  ]);
  // Two bbb members, one bbb device: the group cannot be complete and holds nothing.
  assertEquals(placed(), ["4@d1"]);
  assertEquals(scheduler.isFree("b1"), true);
  scheduler.setDevice({ hostname: "b2", deviceType: "bbb", worker: "w2", tags: new Set() });
  scheduler.deviceChanged("b2", "Idle", "Good");
  scheduler.deviceChanged("d1", "Reserved", "Good");
  scheduler.deviceChanged("d1", "Idle", "Good");
  assertEquals(placed(), ["1@d1", "2@b1", "3@b2"].sort());
  assertEquals(scheduler.queue.size, 0);
});

Deno.test("a group's SSH guests go where their host role's device is, claiming no device of their own", () => {
  const { scheduler } = lab([{ hostname: "d1", worker: "w2" }, { hostname: "d2" }]);
  scheduler.queue.addMany([
    job({ id: 1, group: "g", role: "host" }),
    job({ id: 2, group: "g", role: "guest", deviceType: "", hostRole: "host" }),
    job({ id: 3, group: "g", role: "guest", deviceType: "", hostRole: "host" }),
  ]);
  const placed = scheduler.decide(["d1"]);
  assertEquals(placed.map((a) => [a.job.id, a.device, a.worker, a.connection ?? false]), [
    [1, "d1", "w2", false],
    [2, "d1", "w2", true],
    [3, "d1", "w2", true],
  ]);
  assertEquals(scheduler.busy("w2"), 1, "one device claimed, for the host role");
  assertEquals(scheduler.isFree("d2"), true);
  assertEquals(scheduler.queue.size, 0);
});

Deno.test("a group's most constrained member gets the tagged device first", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2", tags: new Set(["big"]) }]);
  scheduler.queue.addMany([job({ id: 1, group: "g" }), job({ id: 2, group: "g", tags: ["big"] })]);
  assertEquals(placed(["d1"]), ["1@d1", "2@d2"]);
});

Deno.test("a group's members count against their workers' limits together", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }, { hostname: "d2" }], { w1: 1 });
  scheduler.queue.addMany([job({ id: 1, group: "g" }), job({ id: 2, group: "g" })]);
  assertEquals(placed(), []);
});

Deno.test("changing a device's facts keeps its free and busy accounting", () => {
  const { scheduler, placed } = lab([{ hostname: "d1" }]);
  scheduler.deviceChanged("d1", "Running", "Good");
  assertEquals(scheduler.busy("w1"), 1);
  scheduler.setDevice({ hostname: "d1", deviceType: "qemu", worker: "w2", tags: new Set() });
  assertEquals([scheduler.busy("w1"), scheduler.busy("w2")], [0, 1]);
  scheduler.deviceChanged("d1", "Idle", "Good");
  scheduler.queue.add(job({ id: 1 }));
  assertEquals(placed(), ["1@d1"]);
  scheduler.removeDevice("d1");
  assertEquals([scheduler.isFree("d1"), scheduler.busy("w2")], [false, 0]);
});

Deno.test("anyDeviceFits counts the usable devices a job could ever run on", () => {
  const { scheduler } = lab([{ hostname: "d1" }, { hostname: "d2", tags: new Set(["big"]) }, { hostname: "d3" }]);
  assertEquals(scheduler.anyDeviceFits(job({ tags: ["big"] }), () => true), 1);
  assertEquals(scheduler.anyDeviceFits(job(), (h) => h !== "d3"), 2);
});
