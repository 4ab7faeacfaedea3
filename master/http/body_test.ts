import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { BodyTooLargeError, readBodyBytes, readBodyForm, readBodyText } from "./body.ts";

/** A chunked body (no Content-Length) of `count` chunks of `size` bytes, counting what was pulled. */
function chunkedRequest(count: number, size: number): { request: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= count) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x41));
    },
  });
  return { request: new Request("http://x/", { method: "POST", body }), pulled: () => pulled };
}

Deno.test("a body within its limit is read whole", async () => {
  const { request } = chunkedRequest(4, 1000);
  assertEquals((await readBodyBytes(request, 4000)).byteLength, 4000);
});

Deno.test("a chunked body stops being read as soon as it passes its limit", async () => {
  const { request, pulled } = chunkedRequest(1000, 1024);
  await assertRejects(() => readBodyBytes(request, 10 * 1024), BodyTooLargeError);
  assertEquals(pulled() <= 12, true, `read ${pulled()} chunks`);
});

Deno.test("a declared length over the limit is refused before anything is read", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(100),
    headers: { "Content-Length": "100" },
  });
  await assertRejects(() => readBodyText(request, 10), BodyTooLargeError, "larger than 10 bytes");
});

Deno.test("a form field named __proto__ stays a field", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: "__proto__=x&user=a",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  const fields = await readBodyForm(request, 1024);
  assertEquals(Object.getPrototypeOf(fields), Object.prototype);
  assertEquals(fields.user, "a");
  assertEquals(Object.keys(fields).sort(), ["__proto__", "user"]);
});
