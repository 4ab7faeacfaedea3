import { assert, assertEquals } from "../../tests/support/assert.ts";
import { followLog, type LogBatch } from "./log_follow.ts";

const record = (n: number) => JSON.stringify({ dt: "2026-11-26T00:00:00Z", lvl: "target", msg: `line ${n}` }) + "\n";

Deno.test("following a log hands on lines as they are written, complete lines only", async () => {
  const path = await Deno.makeTempFile();
  const file = await Deno.open(path, { append: true });
  const batches: LogBatch[] = [];
  let writerDone!: () => void;
  const done = new Promise<void>((r) => (writerDone = r));
  let seen!: () => void;
  let seenCount = 0;
  const waitFor = (count: number) => new Promise<void>((r) => (seen = () => seenCount >= count && r()));
  const following = followLog(path, {
    offset: 0,
    writerDone: done,
    onBatch: (b) => {
      batches.push(b);
      seenCount += b.lines.length;
      seen?.();
    },
  });
  let wait = waitFor(1);
  await file.write(new TextEncoder().encode(record(0)));
  const started = performance.now();
  await wait;
  const latency = performance.now() - started;
  assert(latency < 1000, `a line took ${latency} ms to arrive`);
  wait = waitFor(2);
  const second = record(1);
  await file.write(new TextEncoder().encode(second.slice(0, 10)));
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(seenCount, 1, "half a line is not handed on");
  await file.write(new TextEncoder().encode(second.slice(10) + record(2)));
  await wait;
  file.close();
  writerDone();
  const end = await following;
  const all = batches.flatMap((b) => b.lines.map((l) => l.msg));
  assertEquals(all, ["line 0", "line 1", "line 2"]);
  assertEquals(end, (await Deno.stat(path)).size);
  await Deno.remove(path);
});

Deno.test("following from an offset resumes after what was already sent, and reads what was written last", async () => {
  const path = await Deno.makeTempFile();
  const text = record(0) + record(1) + record(2) + "not json\n";
  await Deno.writeTextFile(path, text);
  const lines: unknown[] = [];
  await followLog(path, {
    offset: record(0).length,
    writerDone: Promise.resolve(),
    maxLines: 2,
    onBatch: (b) => lines.push(...b.lines.map((l) => [l.lvl, l.msg])),
  });
  assertEquals(lines, [["target", "line 1"], ["target", "line 2"], ["debug", "not json"]]);
  await Deno.remove(path);
});

Deno.test("a batch of long lines is handed on by size, not only by count", async () => {
  const path = await Deno.makeTempFile();
  const long = (n: number) => JSON.stringify({ dt: "2026-11-26T00:00:00Z", lvl: "target", msg: `${n}`.repeat(40_000) });
  await Deno.writeTextFile(path, Array.from({ length: 10 }, (_, n) => long(n) + "\n").join(""));
  const batches: LogBatch[] = [];
  await followLog(path, {
    offset: 0,
    writerDone: Promise.resolve(),
    maxBytes: 100_000,
    onBatch: (b) => batches.push(b),
  });
  assertEquals(batches.map((b) => b.lines.length), [3, 3, 3, 1]);
  await Deno.remove(path);
});

Deno.test("lines written in quick succession go in one batch per interval, and a line after a quiet spell goes at once", async () => {
  const path = await Deno.makeTempFile();
  const file = await Deno.open(path, { append: true });
  const batches: { at: number; lines: string[] }[] = [];
  let writerDone!: () => void;
  const done = new Promise<void>((r) => (writerDone = r));
  const following = followLog(path, {
    offset: 0,
    writerDone: done,
    minIntervalMs: 300,
    onBatch: (b) => batches.push({ at: performance.now(), lines: b.lines.map((l) => String(l.msg)) }),
  });
  const write = (n: number) => file.write(new TextEncoder().encode(record(n)));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(50);
  const first = performance.now();
  await write(0);
  for (let n = 1; n <= 5; n++) {
    await sleep(20);
    await write(n);
  }
  await sleep(700);
  const quiet = performance.now();
  await write(6);
  await sleep(200);
  file.close();
  writerDone();
  await following;
  assertEquals(batches.flatMap((b) => b.lines), [0, 1, 2, 3, 4, 5, 6].map((n) => `line ${n}`));
  assert(batches[0].at - first < 250, `the first line waited ${batches[0].at - first} ms`);
  const burst = batches.filter((b) => b.lines.some((l) => ["line 1", "line 5"].includes(l)));
  assertEquals(burst.length, 1, `lines 1 to 5 came in ${burst.length} batches`);
  assert(burst[0].at - batches[0].at >= 290, "the burst waited out the interval");
  const last = batches.at(-1)!;
  assertEquals(last.lines, ["line 6"]);
  assert(last.at - quiet < 150, `a line after a quiet spell waited ${last.at - quiet} ms`);
  await Deno.remove(path);
});
