import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { ActorHost } from "../runtime/host.ts";
import { memoryLogger } from "../runtime/log.ts";
import { SqliteJournal } from "../runtime/sqlite_journal.ts";
import type { PeerEvent } from "./endpoint.ts";
import { MessageTooLargeError, PlaintextBindError } from "./endpoint.ts";
import { MAX_BODY_BYTES } from "./envelope.ts";
import { defineProtocol, fail, isRecord } from "./protocol.ts";

const protocol = defineProtocol({
  note: (body) => isRecord(body) && typeof body.text === "string" ? { text: body.text } : fail("text must be a string"),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(10);
  }
}

async function openHost(name: string) {
  const dir = await Deno.makeTempDir({ prefix: `basalt-${name}-` });
  const host = await ActorHost.open({ name, journal: SqliteJournal.open(dir), logger: memoryLogger(name) });
  return { host, dir };
}

Deno.test("a worker and its dispatch process talk over ipc, with summaries on connect and offline on silence", async () => {
  const worker = await openHost("w1");
  const dispatch = await openHost("job-42");
  const socket = `ipc://${worker.dir}/dispatch.ipc`;
  const atWorker: string[] = [];
  const atDispatch: string[] = [];
  const workerPeers: PeerEvent[] = [];
  const dispatchPeers: PeerEvent[] = [];
  try {
    const listen = await worker.host.mailbox({
      protocol,
      mode: { kind: "listen", endpoint: socket },
      heartbeatMs: 50,
      summary: () => ({ cancelled: [41] }),
      accepts: (to) => to === "worker/w1",
      onPeer: (e) => workerPeers.push(e),
      onMessage: (d) => atWorker.push(`${d.peer}:${d.body.text}`),
    });
    const connect = await dispatch.host.mailbox({
      protocol,
      mode: { kind: "connect", endpoints: [socket], peer: "w1" },
      heartbeatMs: 50,
      summary: () => ({ running: [42] }),
      onPeer: (e) => dispatchPeers.push(e),
      onMessage: (d) => atDispatch.push(d.body.text),
    });
    for (let i = 0; i < 100; i++) connect.send("w1", "worker/w1", "note", { text: `line ${i}` });
    connect.send("w1", "nobody/here", "note", { text: "lost" });
    connect.send("w1", "worker/w1", "note", { text: "after the unknown actor" });
    await until(() => atWorker.length === 101);
    listen.send("job-42", "dispatch/42", "note", { text: "cancel" });
    await until(() => atDispatch.length === 1);
    assertEquals(atWorker.slice(0, 2), ["job-42:line 0", "job-42:line 1"]);
    assertEquals(atWorker.at(-1), "job-42:after the unknown actor");
    assertEquals(listen.stats().dropped.actor, 1);
    assertEquals(workerPeers[0], { type: "online", peer: "job-42", summary: { running: [42] } });
    assertEquals(dispatchPeers[0], { type: "online", peer: "w1", summary: { cancelled: [41] } });
    await until(() => connect.peers()[0].unacknowledged === 0);
    await dispatch.host.close();
    await until(() => workerPeers.some((e) => e.type === "offline"), 2000);
  } finally {
    await dispatch.host.close();
    await worker.host.close();
    await Deno.remove(worker.dir, { recursive: true });
    await Deno.remove(dispatch.dir, { recursive: true });
  }
});

Deno.test("a plain-text mailbox refuses to listen beyond loopback", async () => {
  const { host, dir } = await openHost("master");
  try {
    const error = await assertRejects(
      () =>
        host.mailbox({
          protocol,
          mode: { kind: "listen", endpoint: "tcp://0.0.0.0:0" },
          onMessage: () => {},
        }),
      PlaintextBindError,
    );
    assert(error.message.includes("--encrypt"));
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messages queued while the peer is away are delivered once it comes, in order", async () => {
  const worker = await openHost("w2");
  const master = await openHost("master");
  const socket = `ipc://${master.dir}/master.ipc`;
  const received: string[] = [];
  try {
    const connect = await worker.host.mailbox({
      protocol,
      mode: { kind: "connect", endpoints: [socket], peer: "master" },
      heartbeatMs: 50,
      onMessage: () => {},
    });
    for (let i = 0; i < 50; i++) connect.send("master", "worker/w2", "note", { text: String(i) });
    await sleep(200);
    await master.host.mailbox({
      protocol,
      mode: { kind: "listen", endpoint: socket },
      heartbeatMs: 50,
      onMessage: (d) => received.push(d.body.text),
    });
    await until(() => received.length === 50);
    assertEquals(received, Array.from({ length: 50 }, (_, i) => String(i)));
  } finally {
    await worker.host.close();
    await master.host.close();
    await Deno.remove(worker.dir, { recursive: true });
    await Deno.remove(master.dir, { recursive: true });
  }
});

Deno.test("a body larger than a mailbox carries is refused at send, and the stream goes on without it", async () => {
  const worker = await openHost("w3");
  const master = await openHost("master");
  const socket = `ipc://${master.dir}/master.ipc`;
  const received: string[] = [];
  try {
    await master.host.mailbox({
      protocol,
      mode: { kind: "listen", endpoint: socket },
      heartbeatMs: 50,
      onMessage: (d) => received.push(d.body.text.slice(0, 10)),
    });
    const connect = await worker.host.mailbox({
      protocol,
      mode: { kind: "connect", endpoints: [socket], peer: "master" },
      heartbeatMs: 50,
      onMessage: () => {},
    });
    connect.send("master", "worker/w3", "note", { text: "before" });
    // Two-byte characters: the limit is in bytes, not characters.
    const error = (() => {
      try {
        connect.send("master", "worker/w3", "note", { text: "é".repeat(MAX_BODY_BYTES / 2) });
      } catch (error) {
        return error;
      }
    })();
    assert(error instanceof MessageTooLargeError, String(error));
    connect.send("master", "worker/w3", "note", { text: "after" });
    await until(() => received.length === 2);
    assertEquals(received, ["before", "after"]);
  } finally {
    await worker.host.close();
    await master.host.close();
    await Deno.remove(worker.dir, { recursive: true });
    await Deno.remove(master.dir, { recursive: true });
  }
});
