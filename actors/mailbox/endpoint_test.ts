import type { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/support/assert.ts";
import { Committer } from "../runtime/committer.ts";
import { memoryLogger } from "../runtime/log.ts";
import { SqliteJournal } from "../runtime/sqlite_journal.ts";
import { ZmqReactor } from "../transport/zmq/reactor.ts";
import type { EndpointOptions, PeerEvent } from "./endpoint.ts";
import { MailboxEndpoint, MessageTooLargeError, PlaintextBindError } from "./endpoint.ts";
import { MAX_BODY_BYTES } from "./envelope.ts";
import { defineProtocol, fail, isRecord, type Parsers } from "./protocol.ts";

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

type Note = typeof protocol.parsers;
type ProcessPart = "name" | "epoch" | "reactor" | "committer" | "contents" | "logger";

/** What a process's host puts around its mailboxes (actors/process/host.ts), built here from the parts. */
async function openProcess<P extends Parsers = Note>(name: string) {
  const dir = await Deno.makeTempDir({ prefix: `basalt-${name}-` });
  const journal = SqliteJournal.open(dir);
  const contents = await journal.load();
  const committer = new Committer(journal);
  const reactor = new ZmqReactor();
  const endpoints: MailboxEndpoint<P, DatabaseSync>[] = [];
  let closed = false;
  const host = {
    async mailbox(options: Omit<EndpointOptions<P, DatabaseSync>, ProcessPart>) {
      const endpoint = await MailboxEndpoint.open<P, DatabaseSync>({
        ...options,
        name,
        epoch: journal.epoch,
        reactor,
        committer,
        contents,
        logger: memoryLogger(name),
      });
      endpoints.push(endpoint);
      return endpoint;
    },
    async close() {
      if (closed) return;
      closed = true;
      await committer.close();
      for (const endpoint of endpoints) await endpoint.close();
      await reactor.close();
      await journal.close();
    },
  };
  return { host, dir };
}

Deno.test("a master and a worker talk over ipc, with summaries on connect and offline on silence", async () => {
  const master = await openProcess("master");
  const worker = await openProcess("w1");
  const socket = `ipc://${master.dir}/master.ipc`;
  const atMaster: string[] = [];
  const atWorker: string[] = [];
  const masterPeers: PeerEvent[] = [];
  const workerPeers: PeerEvent[] = [];
  try {
    const listen = await master.host.mailbox({
      protocol,
      mode: { kind: "listen", endpoint: socket },
      heartbeatMs: 50,
      summary: () => ({ cancelled: [41] }),
      accepts: (to) => to === "job/42",
      onPeer: (e) => masterPeers.push(e),
      onMessage: (d) => atMaster.push(`${d.peer}:${d.body.text}`),
    });
    const connect = await worker.host.mailbox({
      protocol,
      mode: { kind: "connect", endpoints: [socket], peer: "master" },
      heartbeatMs: 50,
      summary: () => ({ running: [42] }),
      onPeer: (e) => workerPeers.push(e),
      onMessage: (d) => atWorker.push(d.body.text),
    });
    for (let i = 0; i < 100; i++) connect.send("master", "job/42", "note", { text: `line ${i}` });
    connect.send("master", "nobody/here", "note", { text: "lost" });
    connect.send("master", "job/42", "note", { text: "after the unknown actor" });
    await until(() => atMaster.length === 101);
    listen.send("w1", "runs", "note", { text: "cancel" });
    await until(() => atWorker.length === 1);
    assertEquals(atMaster.slice(0, 2), ["w1:line 0", "w1:line 1"]);
    assertEquals(atMaster.at(-1), "w1:after the unknown actor");
    assertEquals(listen.stats().dropped.actor, 1);
    assertEquals(masterPeers[0], { type: "online", peer: "w1", summary: { running: [42] } });
    assertEquals(workerPeers[0], { type: "online", peer: "master", summary: { cancelled: [41] } });
    await until(() => connect.peers()[0].unacknowledged === 0);
    await worker.host.close();
    await until(() => masterPeers.some((e) => e.type === "offline"), 2000);
  } finally {
    await worker.host.close();
    await master.host.close();
    await Deno.remove(master.dir, { recursive: true });
    await Deno.remove(worker.dir, { recursive: true });
  }
});

Deno.test("transient messages go at once within a session, beside the reliable stream, and are never journaled or resent", async () => {
  const live = defineProtocol({
    note: protocol.parsers.note,
    key: (body) =>
      isRecord(body) && typeof body.text === "string" ? { text: body.text } : fail("text must be a string"),
  }, { transient: ["key"] });
  type Live = typeof live.parsers;
  const master = await openProcess<Live>("master");
  const worker = await openProcess<Live>("w1");
  const socket = `ipc://${master.dir}/master.ipc`;
  const keys: string[] = [];
  const notes: string[] = [];
  const echoed: string[] = [];
  let workerOnline = false;
  try {
    let answer = (_peer: string, _text: string) => {};
    const listen = await master.host.mailbox({
      protocol: live,
      mode: { kind: "listen", endpoint: socket },
      heartbeatMs: 50,
      onMessage: (d) => notes.push(d.body.text),
      onTransient: (d) => {
        keys.push(d.body.text);
        answer(d.peer, d.body.text.toUpperCase());
      },
    });
    answer = (peer, text) => void listen.sendTransient(peer, "runs", "key", { text });
    const connect = await worker.host.mailbox({
      protocol: live,
      mode: { kind: "connect", endpoints: [socket], peer: "master" },
      heartbeatMs: 50,
      onPeer: (e) => workerOnline ||= e.type === "online",
      onMessage: () => {},
      onTransient: (d) => echoed.push(d.body.text),
    });
    assertEquals(listen.sendTransient("w1", "runs", "key", { text: "too soon" }), false);
    await until(() => workerOnline);
    for (let i = 0; i < 50; i++) {
      assert(connect.sendTransient("master", "job/1", "key", { text: `k${i}` }));
      if (i % 10 === 0) connect.send("master", "job/1", "note", { text: `n${i}` });
    }
    await until(() => echoed.length === 50 && notes.length === 5);
    assertEquals(keys, Array.from({ length: 50 }, (_, i) => `k${i}`));
    assertEquals(echoed[49], "K49");
    assertEquals(connect.stats().transientSent, 50);
    assertEquals(listen.stats().transientDelivered, 50);
    assertThrows(() => connect.sendTransient("master", "job/1", "note" as "key", { text: "x" }));
    // Nothing is kept for a peer that is gone: no late keystrokes after it comes back.
    await master.host.close();
    await until(() => !connect.isOnline("master"), 5000);
    assertEquals(connect.sendTransient("master", "job/1", "key", { text: "lost" }), false);
  } finally {
    await worker.host.close();
    await master.host.close();
    await Deno.remove(master.dir, { recursive: true });
    await Deno.remove(worker.dir, { recursive: true });
  }
});

Deno.test("a plain-text mailbox refuses to listen beyond loopback", async () => {
  const { host, dir } = await openProcess("master");
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
  const worker = await openProcess("w2");
  const master = await openProcess("master");
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
  const worker = await openProcess("w3");
  const master = await openProcess("master");
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
