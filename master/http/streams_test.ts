import { assert, assertEquals } from "../../tests/support/assert.ts";
import { eventStream, formatSse, SlowClientError, StreamGate } from "./streams.ts";

Deno.test("a newline in an event's name or id cannot start a new field", () => {
  const text = formatSse({ event: "a\nid: forged", id: "1\r\ndata: x", data: "one\ntwo" });
  assertEquals(text, "event: a id: forged\ndata: one\ndata: two\nid: 1  data: x\n\n");
});

Deno.test("the gate caps streams per client and in all, and a release counts once", () => {
  const gate = new StreamGate({ perClient: 2, total: 3 });
  const a1 = gate.admit("a")!;
  gate.admit("a");
  assertEquals(gate.admit("a"), undefined);
  gate.admit("b");
  assertEquals(gate.admit("c"), undefined);
  a1();
  a1();
  assertEquals(gate.total, 2);
  assert(gate.admit("c"));
});

Deno.test("a client that falls behind by more than its queue is dropped and unsubscribed", async () => {
  let unsubscribed = false;
  let closed = false;
  let send: ((data: string) => boolean) | undefined;
  const response = eventStream((feed) => {
    send = (data) => feed.send({ data });
    return () => (unsubscribed = true);
  }, { queueBytes: 1000, onClose: () => (closed = true) });
  assertEquals(send!("x".repeat(500)), true);
  assertEquals(send!("x".repeat(600)), false);
  assert(unsubscribed && closed);
  const reader = response.body!.getReader();
  let failed = false;
  await reader.read().catch((error) => (failed = error instanceof SlowClientError));
  assert(failed, "the body should error so that the server drops the connection");
});

Deno.test("a client that reads gets every message and the end", async () => {
  let feedEnd: (() => void) | undefined;
  const response = eventStream((feed) => {
    feed.send({ event: "one", data: "1" });
    feed.send({ event: "two", data: "2" });
    feedEnd = () => feed.end();
  });
  feedEnd!();
  assertEquals(await response.text(), "event: one\ndata: 1\n\nevent: two\ndata: 2\n\n");
});

Deno.test("the master closing ends every stream", async () => {
  const closing = new AbortController();
  let closed = false;
  const response = eventStream(() => {}, { closing: closing.signal, onClose: () => (closed = true) });
  closing.abort();
  assertEquals(await response.text(), "");
  assert(closed);
});
