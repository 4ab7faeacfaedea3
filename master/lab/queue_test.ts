import { assertEquals } from "../../tests/support/assert.ts";
import { SeededRandom } from "../../tests/support/random.ts";
import { JobQueue, type QueuedJob } from "./queue.ts";

function job(id: number, fields: Partial<QueuedJob> = {}): QueuedJob {
  return { id, deviceType: "qemu", priority: 50, submitTime: 1000, tags: [], submitter: 1, ...fields };
}

const ids = (queue: JobQueue, type = "qemu") => [...queue.ofType(type)].map((j) => j.id);

Deno.test("a queue is in LAVA's order: highest priority, then oldest submission, then lowest id", () => {
  const queue = new JobQueue();
  queue.add(job(5, { priority: 50, submitTime: 10 }));
  queue.add(job(4, { priority: 100, submitTime: 30 }));
  queue.add(job(3, { priority: 50, submitTime: 10 }));
  queue.add(job(2, { priority: 100, submitTime: 20 }));
  queue.add(job(1, { priority: 0, submitTime: 1 }));
  assertEquals(ids(queue), [2, 4, 3, 5, 1]);
});

Deno.test("loading many jobs at once gives the same order as adding them one by one", () => {
  const random = new SeededRandom(7);
  const jobs = Array.from({ length: 10_000 }, (_, i) =>
    job(i + 1, {
      deviceType: random.int(3) === 0 ? "bbb" : "qemu",
      priority: [0, 50, 100][random.int(3)],
      submitTime: random.int(500),
    }));
  const one = new JobQueue();
  for (const j of jobs) one.add(j);
  const many = new JobQueue();
  many.addMany(jobs);
  const sorted = (type: string) =>
    jobs.filter((j) => j.deviceType === type).sort((a, b) =>
      b.priority - a.priority || a.submitTime - b.submitTime || a.id - b.id
    ).map((j) => j.id);
  for (const type of ["qemu", "bbb"]) {
    assertEquals(ids(one, type), sorted(type));
    assertEquals(ids(many, type), sorted(type));
  }
  assertEquals([one.size, many.size], [10_000, 10_000]);
});

Deno.test("a job is queued once, however often it is added", () => {
  const queue = new JobQueue();
  queue.add(job(1));
  queue.add(job(1, { priority: 100 }));
  queue.addMany([job(1), job(2)]);
  assertEquals([queue.size, ids(queue)], [2, [1, 2]]);
  assertEquals(queue.get(1)?.priority, 50);
});

Deno.test("a removed job is gone at once and the queue keeps its order through many removals", () => {
  const queue = new JobQueue();
  queue.addMany(Array.from({ length: 1000 }, (_, i) => job(i + 1, { submitTime: i })));
  assertEquals(queue.remove(1)?.id, 1);
  assertEquals(queue.remove(1), undefined);
  assertEquals([queue.has(1), ids(queue)[0]], [false, 2]);
  // Enough removals to sweep the holes more than once.
  for (let id = 2; id <= 900; id += 2) queue.remove(id);
  const left = ids(queue);
  assertEquals(left.length, 1000 - 1 - 450);
  assertEquals(left.slice(0, 3), [3, 5, 7]);
  assertEquals(left, [...left].sort((a, b) => a - b));
  // A job added back after its removal takes its place again.
  queue.add(job(2, { submitTime: 1 }));
  assertEquals(ids(queue).slice(0, 2), [2, 3]);
});

Deno.test("a device type is listed while it has queued jobs", () => {
  const queue = new JobQueue();
  queue.add(job(1, { deviceType: "bbb" }));
  queue.add(job(2));
  assertEquals(queue.types().sort(), ["bbb", "qemu"]);
  queue.remove(1);
  assertEquals(queue.types(), ["qemu"]);
});

Deno.test("a MultiNode group's queued members are found together, and leave as they are removed", () => {
  const queue = new JobQueue();
  queue.addMany([job(1, { group: "g1" }), job(2, { group: "g1", deviceType: "bbb" }), job(3, { group: "g2" })]);
  assertEquals(queue.group("g1").map((j) => j.id).sort(), [1, 2]);
  queue.remove(2);
  assertEquals(queue.group("g1").map((j) => j.id), [1]);
  queue.remove(1);
  assertEquals([queue.group("g1"), queue.group("g2").length, queue.group("none")], [[], 1, []]);
});
