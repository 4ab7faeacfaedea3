/**
 * The mailbox between real processes: a master (database journal) and a worker
 * (SQLite journal) from tests/fixtures/mailbox_peer.ts, with the master killed
 * and restarted, the link cut, keys wrong, and garbage thrown at it.
 */
import { DatabaseSync } from "node:sqlite";
import { sql } from "kysely";
import { assert, assertEquals } from "./support/assert.ts";
import { freePort } from "./support/postgres.ts";
import { TestProcess } from "./support/process.ts";
import { TcpProxy } from "./support/tcp_proxy.ts";
import { SeededRandom } from "./support/random.ts";
import { PROTOCOL_VERSION, routingIdFor } from "../actors/mailbox/envelope.ts";
import { Option, SocketType } from "../actors/transport/zmq/ffi.ts";
import { type ReactorSocket, ZmqReactor } from "../actors/transport/zmq/reactor.ts";
import { openStorage } from "../master/storage/database.ts";
import type { StorageTarget } from "../master/storage/target.ts";

const PEER = "tests/fixtures/mailbox_peer.ts";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function startMaster(port: number, storage: string[], extra: string[] = []): TestProcess {
  return TestProcess.deno("master", PEER, [
    "--role",
    "master",
    "--listen",
    `tcp://127.0.0.1:${port}`,
    ...storage,
    ...extra,
  ]);
}

function startWorker(endpoints: string[], state: string, count: number, extra: string[] = []): TestProcess {
  return TestProcess.deno("worker", PEER, [
    "--role",
    "worker",
    "--connect",
    endpoints.join(","),
    "--state",
    state,
    "--count",
    String(count),
    ...extra,
  ]);
}

/** Reads what the master handled: the table rows in handling order, and its tally actor's count. */
async function masterRecord(target: StorageTarget): Promise<{ received: number[]; tally: number }> {
  const storage = await openStorage(target);
  try {
    const rows = await sql<{ n: number }>`SELECT n FROM test_received ORDER BY id`.execute(storage.db);
    const snapshot = await storage.db.selectFrom("actor_snapshots").select("snapshot")
      .where("kind", "=", "tally").executeTakeFirst();
    const tally = (snapshot?.snapshot as { context?: { count?: number } } | undefined)?.context?.count ?? 0;
    return { received: rows.rows.map((r) => r.n), tally };
  } finally {
    await storage.close();
  }
}

function workerRecord(state: string): number[] {
  const db = new DatabaseSync(`${state}/journal.sqlite3`, { readOnly: true });
  try {
    return db.prepare("SELECT n FROM test_received ORDER BY id").all().map((r) => r.n as number);
  } finally {
    db.close();
  }
}

const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

Deno.test({
  name: "thousands of messages cross two master kills and a 10-second link cut, each handled once and in order",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "basalt-master-" });
    const state = await Deno.makeTempDir({ prefix: "basalt-worker-" });
    const port = freePort();
    const proxy = TcpProxy.start(port);
    const processes: TestProcess[] = [];
    const COUNT = 6000;
    try {
      let master = startMaster(port, ["--data-dir", dataDir]);
      processes.push(master);
      await master.waitForEvent("ready", 30_000);
      const worker = startWorker([proxy.endpoint], state, COUNT, ["--rate", "300"]);
      processes.push(worker);
      // Each fault starts from an open session, so each one is seen going away.
      const sessions = () => worker.events.filter((e) => e.event === "online").length;
      const backOnline = (before: number) =>
        worker.waitFor(() => sessions() > before, 30_000, "a new session after the fault");
      await worker.waitFor((e) => e.event === "progress" && (e.queued as number) > 600, 30_000, "600 queued");

      let opened = sessions();
      master.kill("SIGKILL");
      await master.exited;
      master = startMaster(port, ["--data-dir", dataDir]);
      processes.push(master);
      await master.waitForEvent("ready", 30_000);
      await backOnline(opened);
      await worker.waitFor((e) => e.event === "progress" && (e.queued as number) > 1800, 30_000, "1800 queued");

      opened = sessions();
      await proxy.cut();
      await sleep(10_000);
      proxy.restore();
      await backOnline(opened);
      await worker.waitFor((e) => e.event === "progress" && (e.queued as number) > 5000, 30_000, "5000 queued");

      opened = sessions();
      master.kill("SIGKILL");
      await master.exited;
      master = startMaster(port, ["--data-dir", dataDir]);
      processes.push(master);
      await master.waitForEvent("ready", 30_000);
      await backOnline(opened);

      await worker.waitForEvent("done", 60_000);
      await worker.stop();
      await master.stop();

      const handled = await masterRecord({ kind: "pglite", dataDir });
      assertEquals(handled.received.length, COUNT, "every message handled, none twice");
      assertEquals(handled.received, range(1, COUNT), "in the order sent");
      assertEquals(handled.tally, COUNT, "the tally actor counted each message once across restarts");
      assertEquals(workerRecord(state), range(3, COUNT, 3), "every reply handled once, in order");
      const stats = worker.events.find((e) => e.event === "stats") as { retransmissions?: number } | undefined;
      assert((stats?.retransmissions ?? 0) > 0, "the faults forced retransmissions");
      // A master that restarts within three heartbeats is not even missed: the worker
      // only learns of the restart when the master asks it to open a new session.
      // The 10-second cut is always seen.
      const outages = worker.events.filter((e) => e.event === "offline").length;
      assert(outages >= 1, `the worker saw the link go away (offline ${outages} times)`);
      assert(sessions() >= 4, `a session was reopened after each fault (${sessions()} sessions)`);
    } finally {
      for (const p of processes) await p.stop();
      await proxy.close();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(state, { recursive: true });
    }
  },
});

async function manageKeys(directory: string, name: string): Promise<void> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "manage", "keys", "create", "--directory", directory, name],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(run.success, new TextDecoder().decode(run.stderr));
}

Deno.test({
  name: "with CurveZMQ a worker with a wrong key delivers nothing and one with an allowed key delivers everything",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const keys = await Deno.makeTempDir({ prefix: "basalt-keys-" });
    const allowed = `${keys}/allowed`;
    const strangers = `${keys}/strangers`;
    const dataDir = await Deno.makeTempDir({ prefix: "basalt-master-" });
    const states = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const processes: TestProcess[] = [];
    try {
      await manageKeys(keys, "master");
      await manageKeys(allowed, "w1");
      await manageKeys(strangers, "w1");
      const port = freePort();
      const master = startMaster(port, ["--data-dir", dataDir], [
        "--curve-secret",
        `${keys}/master.key_secret`,
        "--allow",
        allowed,
      ]);
      processes.push(master);
      await master.waitForEvent("ready", 30_000);
      const endpoint = [`tcp://127.0.0.1:${port}`];
      const intruder = startWorker(endpoint, states[0], 300, [
        "--curve-secret",
        `${strangers}/w1.key_secret`,
        "--server-key",
        `${keys}/master.key`,
      ]);
      processes.push(intruder);
      await sleep(4000);
      assertEquals(intruder.events.filter((e) => e.event === "online"), [], "never gets a session");
      await intruder.stop();
      const worker = startWorker(endpoint, states[1], 300, [
        "--curve-secret",
        `${allowed}/w1.key_secret`,
        "--server-key",
        `${keys}/master.key`,
      ]);
      processes.push(worker);
      await worker.waitForEvent("done", 30_000);
      await worker.stop();
      await master.stop();
      const handled = await masterRecord({ kind: "pglite", dataDir });
      assertEquals(handled.received, range(1, 300), "only the allowed worker's messages, each once");
    } finally {
      for (const p of processes) await p.stop();
      for (const d of [keys, dataDir, ...states]) await Deno.remove(d, { recursive: true });
    }
  },
});

/** A malformed or hostile message, chosen by the seeded generator. */
function malformedFrames(random: SeededRandom, i: number, from: string): Uint8Array<ArrayBuffer>[] {
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const envelope = (patch: Record<string, unknown>) =>
    json({ v: PROTOCOL_VERSION, from, to: "tally/main", kind: "count", epoch: "fuzz-epoch", seq: i + 1, ...patch });
  switch (random.int(14)) {
    case 0:
      return [random.bytes(random.int(64))];
    case 1:
      return Array.from({ length: 3 + random.int(5) }, () => random.bytes(random.int(32)));
    case 2:
      return [random.bytes(1 + random.int(300)), random.bytes(random.int(300))];
    case 3:
      return [json(random.pick([null, 42, "text", [1, 2], { v: 1 }])), json({ n: 1 })];
    case 4:
      return [envelope({ kind: `no-such-kind-${random.int(9)}` }), json({ n: 1 })];
    case 5:
      return [envelope({ v: 99 }), json({ n: 1 })];
    case 6:
      return [envelope({}), random.bytes(1 + random.int(50))];
    case 7:
      return [envelope({}), json(random.pick([{ n: "one" }, {}, null, [1], { n: 1.5 }]))];
    case 8:
      return [envelope({ from: "someone-else" }), json({ n: 1 })];
    case 9:
      return [envelope({ seq: random.pick([-1, 1.5, "7", 2 ** 60]) }), json({ n: 1 })];
    case 10:
      return [envelope({ base: 10, seq: 2 }), json({ n: 1 })];
    case 11:
      return [envelope({ kind: random.pick(["welcome", "refuse", "pong"]), seq: undefined }), json({})];
    case 12:
      return [envelope({ epoch: "bad epoch with spaces" }), json({ n: 1 })];
    default:
      return [envelope({ to: "nobody/at-all", epoch: `fuzz-${i}` }), json({ n: i })];
  }
}

Deno.test({
  name: "10,000 malformed messages leave the master serving a correct worker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "basalt-master-" });
    const state = await Deno.makeTempDir({ prefix: "basalt-worker-" });
    const port = freePort();
    const master = startMaster(port, ["--data-dir", dataDir]);
    const reactor = new ZmqReactor();
    try {
      await master.waitForEvent("ready", 30_000);
      const random = new SeededRandom(20261126);
      const sockets = [];
      for (let s = 0; s < 8; s++) {
        sockets.push(
          await reactor.socket(SocketType.DEALER, (sock) => {
            sock.setString(Option.ROUTING_ID, routingIdFor(`fuzz-${s}`));
            sock.setInt(Option.SNDHWM, 100_000);
            sock.connect(`tcp://127.0.0.1:${port}`);
          }),
        );
        // A session first, so what follows is judged on its content, not refused as sessionless.
        const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
        sockets[s].send([
          json({ v: PROTOCOL_VERSION, from: `fuzz-${s}`, to: "master", kind: "hello", epoch: "fuzz-epoch" }),
          json({ summary: null }),
        ]);
      }
      // Raw bytes that are not even ZMTP, on plain TCP connections.
      for (let c = 0; c < 20; c++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(random.bytes(1 + random.int(2000))).catch(() => 0);
        conn.close();
      }
      for (let i = 0; i < 10_000; i++) {
        sockets[i % sockets.length].send(malformedFrames(random, i, `fuzz-${i % sockets.length}`));
        if (i % 500 === 499) await sleep(20);
      }
      await sleep(500);
      assertEquals(sockets.map((socket) => socket.dropped), sockets.map(() => 0), "every malformed message was sent");
      const worker = startWorker([`tcp://127.0.0.1:${port}`], state, 500);
      await worker.waitForEvent("done", 30_000);
      await worker.stop();
      const status = await master.stop();
      assertEquals(status.code, 0, "the master was still up and stopped cleanly");
      const stats = master.events.find((e) => e.event === "stats") as unknown as {
        dropped: Record<string, number>;
        gaps: number;
        duplicates: number;
      };
      // A malformed message in a fuzzer's session that is not its next one is counted as out of order.
      const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0) + stats.gaps + stats.duplicates;
      assert(dropped >= 9000, `malformed messages were counted (${JSON.stringify(stats)})`);
      for (const reason of ["frames", "envelope", "version", "kind", "body", "sender", "actor"]) {
        assert(stats.dropped[reason] > 0, `some were dropped as ${reason}`);
      }
      const handled = await masterRecord({ kind: "pglite", dataDir });
      assertEquals(handled.received, range(1, 500));
    } finally {
      await reactor.close();
      await master.stop();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "a peer speaking another protocol version is refused with the reason, on both sides",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "basalt-master-" });
    const state = await Deno.makeTempDir({ prefix: "basalt-worker-" });
    const port = freePort();
    const master = startMaster(port, ["--data-dir", dataDir]);
    const reactor = new ZmqReactor();
    let worker: TestProcess | undefined;
    try {
      await master.waitForEvent("ready", 30_000);
      const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
      const replies: string[] = [];
      const future = await reactor.socket(SocketType.DEALER, (s) => {
        s.setString(Option.ROUTING_ID, routingIdFor("w-future"));
        s.connect(`tcp://127.0.0.1:${port}`);
      }, (m) => replies.push(new TextDecoder().decode(m.frames[1])));
      future.send([
        json({ v: PROTOCOL_VERSION + 1, from: "w-future", to: "master", kind: "hello", epoch: "e2" }),
        json({ summary: null }),
      ]);
      await master.waitFor((e) => e.event === "refused" && e.peer === "w-future", 10_000, "refused");
      await waitUntil(() => replies.length > 0, 5000);
      assertEquals(JSON.parse(replies[0]), {
        reason: `protocol version mismatch: w-future speaks ${PROTOCOL_VERSION + 1}, master speaks ${PROTOCOL_VERSION}`,
      });

      // A worker of the first version, whose routing id was its bare name, is told the same.
      const oldReplies: string[] = [];
      const old = await reactor.socket(SocketType.DEALER, (s) => {
        s.setString(Option.ROUTING_ID, "w-old");
        s.connect(`tcp://127.0.0.1:${port}`);
      }, (m) => oldReplies.push(new TextDecoder().decode(m.frames[1])));
      old.send([json({ v: 1, from: "w-old", to: "master", kind: "hello", epoch: "e1" }), json({ summary: null })]);
      await waitUntil(() => oldReplies.length > 0, 5000);
      assertEquals(JSON.parse(oldReplies[0]), {
        reason: `protocol version mismatch: w-old speaks 1, master speaks ${PROTOCOL_VERSION}`,
      });

      // And a worker meeting a master of another version says so and stops trying.
      const fakePort = freePort();
      const fake: ReactorSocket = await reactor.socket(
        SocketType.ROUTER,
        (s) => s.bind(`tcp://127.0.0.1:${fakePort}`),
        (m) => {
          const envelope = JSON.parse(new TextDecoder().decode(m.frames[1]));
          if (envelope.kind !== "hello") return;
          fake.send([
            m.frames[0] as Uint8Array<ArrayBuffer>,
            json({ v: PROTOCOL_VERSION + 2, from: "master", to: envelope.from, kind: "welcome", epoch: "e3" }),
            json({ summary: null }),
          ]);
        },
      );
      worker = startWorker([`tcp://127.0.0.1:${fakePort}`], state, 1);
      const refused = await worker.waitForEvent("refused", 10_000);
      assertEquals(
        refused.reason,
        `protocol version mismatch: master speaks ${PROTOCOL_VERSION + 2}, w1 speaks ${PROTOCOL_VERSION}`,
      );
    } finally {
      await worker?.stop();
      await reactor.close();
      await master.stop();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "a worker fails over to the second master endpoint when the first goes silent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "basalt-master-" });
    const state = await Deno.makeTempDir({ prefix: "basalt-worker-" });
    const [first, second] = [freePort(), freePort()];
    const processes: TestProcess[] = [];
    try {
      const primary = startMaster(first, ["--data-dir", dataDir]);
      processes.push(primary);
      await primary.waitForEvent("ready", 30_000);
      const worker = startWorker([`tcp://127.0.0.1:${first}`, `tcp://127.0.0.1:${second}`], state, 2000, [
        "--rate",
        "500",
      ]);
      processes.push(worker);
      await worker.waitFor((e) => e.event === "progress" && (e.queued as number) > 500, 30_000, "500 queued");
      primary.kill("SIGKILL");
      await primary.exited;
      // The standby takes over the same database on another endpoint.
      const standby = startMaster(second, ["--data-dir", dataDir]);
      processes.push(standby);
      await standby.waitForEvent("ready", 30_000);
      await worker.waitForEvent("done", 60_000);
      assert(worker.stderr.some((line) => line.includes("failing over")), "the worker logged its fail-over");
      await worker.stop();
      await standby.stop();
      const handled = await masterRecord({ kind: "pglite", dataDir });
      assertEquals(handled.received, range(1, 2000));
      assertEquals(workerRecord(state), range(3, 2000, 3));
    } finally {
      for (const p of processes) await p.stop();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(state, { recursive: true });
    }
  },
});
