import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { encodeFrameLine, MAX_INPUT_CHARS, parseDownFrame, parseUpFrame, readFrameLines } from "./console_frames.ts";

Deno.test("console frames parse when well formed and name what is wrong otherwise", () => {
  assertEquals(parseUpFrame({ t: "output", data: "login: " }), { t: "output", data: "login: " });
  assertEquals(
    parseUpFrame({ t: "state", power: "on", endsAt: "2026-12-05T10:00:00.000Z", extra: 1 }),
    { t: "state", power: "on", endsAt: "2026-12-05T10:00:00.000Z" },
  );
  assertEquals(parseUpFrame({ t: "state", power: "hot", endsAt: "x" }), {
    problem: "power must be on, off or unknown",
  });
  assertEquals(parseUpFrame({ t: "state", power: "on", endsAt: "soon" }), { problem: "endsAt must be a time" });
  assertEquals(parseUpFrame({ t: "input", data: "x" }), { problem: "t must be output, state or notice" });
  assertEquals(parseDownFrame({ t: "input", data: "ls\r" }), { t: "input", data: "ls\r" });
  assertEquals(parseDownFrame({ t: "input", data: "x".repeat(MAX_INPUT_CHARS + 1) }), {
    problem: `data is longer than ${MAX_INPUT_CHARS} characters`,
  });
  assertEquals(parseDownFrame({ t: "power", action: "reset", by: "alice" }), {
    t: "power",
    action: "reset",
    by: "alice",
  });
  assertEquals(parseDownFrame({ t: "power", action: "explode", by: "alice" }), {
    problem: "action must be on, off or reset",
  });
  assertEquals(parseDownFrame({ t: "release" }), { problem: "by must be a string" });
  assertEquals(parseDownFrame([]), { problem: "a console frame must be a mapping" });
});

Deno.test("frame lines are read across chunks, a bad line reads as nothing, and an endless line ends the stream", async () => {
  const line = encodeFrameLine({ t: "output", data: "héllo\n" });
  const chunks = [line.subarray(0, 5), line.subarray(5), new TextEncoder().encode("not json\n")];
  const read: unknown[] = [];
  for await (const value of readFrameLines(ReadableStream.from(chunks), 1024)) read.push(value);
  assertEquals(read, [{ t: "output", data: "héllo\n" }, undefined]);
  const endless = ReadableStream.from([new Uint8Array(600).fill(65), new Uint8Array(600).fill(65)]);
  await assertRejects(async () => {
    for await (const _ of readFrameLines(endless, 1024)) { /* nothing */ }
  });
});
