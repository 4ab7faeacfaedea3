import { Hono } from "hono";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import type { HttpEnv } from "./env.ts";
import { LiveStreams, subscribed } from "./live.ts";
import { type Feed, StreamGate } from "./streams.ts";

/** A feed that records what happens to it. */
function recordingFeed(): Feed & { failures: string[] } {
  const failures: string[] = [];
  return {
    failures,
    send: () => true,
    write: () => Promise.resolve(true),
    end: () => {},
    fail: (reason) => void failures.push(reason),
    closed: false,
  };
}

Deno.test("a stream stopped before its subscription is made ends the subscription once it is made", async () => {
  let unsubscribed = 0;
  let made: ((unsubscribe: () => void) => void) | undefined;
  const stop = subscribed(recordingFeed(), "event stream", new Promise((resolve) => (made = resolve)));
  stop();
  assertEquals(unsubscribed, 0);
  made!(() => unsubscribed++);
  await Promise.resolve();
  assertEquals(unsubscribed, 1);
});

Deno.test("a subscription made before the stream stops is ended when it stops", async () => {
  let unsubscribed = 0;
  const stop = subscribed(recordingFeed(), "event stream", Promise.resolve(() => unsubscribed++));
  await Promise.resolve();
  assertEquals(unsubscribed, 0);
  stop();
  assertEquals(unsubscribed, 1);
});

Deno.test("a subscription that cannot be made fails the stream, saying which stream failed", async () => {
  const feed = recordingFeed();
  const logged: unknown[][] = [];
  const log = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    subscribed(feed, "transition stream", Promise.reject(new Error("database gone")));
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    console.error = log;
  }
  assertEquals(feed.failures, ["transition stream failed"]);
  assertEquals(logged[0][0], "transition stream failed");
});

Deno.test("a client past its share of streams is answered 429, and a stream's place is given back when it ends", async () => {
  const gate = new StreamGate({ perClient: 1, total: 10 });
  const live = new LiveStreams(gate);
  const app = new Hono<HttpEnv>();
  app.get("/stream", (c) => live.sse(c, () => () => {}));
  const first = await app.request("/stream");
  assertEquals(first.status, 200);
  assertEquals(gate.total, 1);
  const second = await app.request("/stream");
  assertEquals(second.status, 429);
  assertEquals((await second.json()).error, "too many open streams (at most 1 per client, 10 in all)");
  await first.body!.cancel();
  assertEquals(gate.total, 0);
  const third = await app.request("/stream");
  assertEquals(third.status, 200);
  await third.body!.cancel();
});

Deno.test("a request for the event WebSocket that is not an upgrade is refused before it takes a place", async () => {
  const gate = new StreamGate({ perClient: 1, total: 1 });
  const app = new Hono<HttpEnv>();
  app.get("/ws/", (c) => new LiveStreams(gate).websocket(c, () => () => {}));
  const response = await app.request("/ws/");
  assertEquals([response.status, await response.text()], [400, "WebSocket only"]);
  assert(gate.total === 0);
});
