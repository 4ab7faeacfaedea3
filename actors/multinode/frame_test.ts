import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { encodeFrame, FrameError, type Readable, readFrame, readRest } from "./frame.ts";

/** A peer that sends `bytes` in pieces of at most `piece` bytes, then closes its side. */
function peer(bytes: Uint8Array, piece = bytes.length): Readable & { asked: number[] } {
  let at = 0;
  const asked: number[] = [];
  return {
    asked,
    read(buffer: Uint8Array) {
      asked.push(buffer.length);
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(piece, buffer.length, bytes.length - at);
      buffer.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("a frame is its length in 8 upper-case hex digits of bytes, then the payload", () => {
  assertEquals(new TextDecoder().decode(encodeFrame('{"a": "\u00e9"}')), '0000000B{"a": "\u00e9"}');
});

Deno.test("a frame arriving a byte at a time is read back as it was written", async () => {
  const payload = '{"request": "group_data", "group_name": "g1"}';
  assertEquals(await readFrame(peer(encodeFrame(payload), 1), { maxLength: 1024 }), payload);
});

Deno.test("a length over the limit is refused before any of the payload is read", async () => {
  const conn = peer(text("00010000" + "x".repeat(100)));
  const error = await assertRejects(() => readFrame(conn, { maxLength: 1024 }), FrameError);
  assertEquals(error.message, "a payload of 65536 bytes is over the limit of 1024 bytes");
  assertEquals(conn.asked, [8]);
});

Deno.test("a length that is not hex, a short payload and one that is not UTF-8 are each refused with the reason", async () => {
  const cases: [Uint8Array, string][] = [
    [text("0000zzzz"), 'the length "0000zzzz" is not 8 hex digits'],
    [text("0000"), "the connection closed after 4 of 8 length digits"],
    [text("00000010abc"), "the payload ended after 3 of 16 bytes"],
    [new Uint8Array([...text("00000002"), 0xc3, 0x28]), "the payload is not UTF-8"],
  ];
  for (const [bytes, reason] of cases) {
    const error = await assertRejects(() => readFrame(peer(bytes), { maxLength: 1024 }), FrameError);
    assertEquals(error.message, reason);
  }
});

Deno.test("what follows a frame is read to the peer's close, up to the limit", async () => {
  assertEquals(await readRest(peer(text("tail")), 4), text("tail"));
  await assertRejects(() => readRest(peer(text("tails")), 4), FrameError, "past the limit of 4 bytes");
});
