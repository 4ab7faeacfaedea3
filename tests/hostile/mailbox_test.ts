/**
 * Hostile peers on the workers' mailbox of a real master: raw ZeroMQ peers in
 * their own process (Debian's pyzmq, tests/fixtures/zmq_hostile_peer.py), next to
 * a worker speaking the real mailbox. A key may speak only for its own worker
 * name, and may not take over another worker's connection or mail; oversized and
 * malformed frames are dropped without touching anyone else's stream; and peers
 * that register themselves are bounded in number and checked by name.
 */
import { stringify } from "yaml";
import { type LabProtocol, labProtocol, WORKER_RUNS } from "../../actors/lab/protocol.ts";
import type { MailboxEndpoint } from "../../actors/mailbox/endpoint.ts";
import { PROTOCOL_VERSION, routingIdFor } from "../../actors/mailbox/envelope.ts";
import { ActorHost } from "../../actors/process/host.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { SqliteJournal } from "../../actors/runtime/sqlite_journal.ts";
import { type CurveKeyPair, generateKeyPair, writeCertificates } from "../../actors/transport/zmq/curve.ts";
import { allowKeysIn } from "../../actors/transport/zmq/zap.ts";
import { MAX_UNADOPTED_WORKERS } from "../../master/lab/worker_admission.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { inlineTest, qemuJob } from "../support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab } from "../support/lab.ts";
import { type ProcessEvent, TestProcess } from "../support/process.ts";

const HOSTILE_PEER = new URL("../fixtures/zmq_hostile_peer.py", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

type Frame = { text: string } | { json: unknown } | { fill: number };
interface PeerSocket {
  readonly routing_id: string;
  readonly curve?: { server: string; public: string; secret: string };
  readonly send?: Frame[][];
}

/** Starts the hostile peer; `done` resolves with what each of its sockets received. */
function hostilePeer(endpoint: string, sockets: PeerSocket[], listenMs: number) {
  const process = new TestProcess("hostile peer", "/usr/bin/python3", [
    HOSTILE_PEER,
    JSON.stringify({ endpoint, sockets, listen_ms: listenMs }),
  ]);
  return {
    process,
    done: process.exited.then((status) => {
      assertEquals(status.code, 0, process.stderr.join("\n"));
      return process.events.filter((e) =>
        e.event === "received"
      ) as (ProcessEvent & { socket: number; frames: string[] })[];
    }),
  };
}

const envelope = (fields: Record<string, unknown>): Frame => ({
  json: { v: PROTOCOL_VERSION, to: "master", epoch: "hostile-epoch", ...fields },
});
const hello = (from: string): Frame[] => [envelope({ from, kind: "hello" }), { json: { summary: null } }];

/** A worker speaking the real mailbox: it takes each job it is given and says it started. */
class FakeWorker {
  readonly starts: string[] = [];
  #host: ActorHost<unknown> | undefined;
  #mailbox: MailboxEndpoint<LabProtocol, unknown> | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly endpoint: string,
    readonly curve: { keyPair: CurveKeyPair; serverPublicKey: string } | undefined,
    readonly heartbeatMs: number,
  ) {}

  async start(): Promise<void> {
    this.#host = await ActorHost.open<unknown>({
      name: this.name,
      journal: SqliteJournal.open(this.dir),
      logger: createLogger({ process: this.name, level: "error" }),
    });
    const mailbox = this.#mailbox = await this.#host.mailbox({
      protocol: labProtocol,
      mode: { kind: "connect", endpoints: [this.endpoint], peer: "master", curve: this.curve },
      heartbeatMs: this.heartbeatMs,
      summary: () => ({ version: "hostile-test", jobLimit: 0, running: [] }),
      accepts: (to) => to === WORKER_RUNS,
      onMessage: (delivery) => {
        if (delivery.kind !== "job.start") return;
        this.starts.push(delivery.body.job);
        mailbox.send("master", `job/${delivery.body.job}`, "job.started", { job: delivery.body.job });
      },
    });
  }

  finish(job: string): void {
    this.#mailbox!.send("master", `job/${job}`, "job.finished", { job, result: "pass" });
  }

  async stop(): Promise<void> {
    await this.#host?.close();
    this.#host = undefined;
  }
}

async function submit(lab: TestLab, name: string): Promise<string> {
  const job = { ...qemuJob({ name }), secrets: { TOKEN: `secret-of-${name}` } };
  const response = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
  assertEquals(response.status, 201, JSON.stringify(response.body));
  return response.body.job_ids[0];
}

/** This process's peak resident memory (the master runs in it), in MiB. */
function peakRssMiB(): number {
  return Number(/^VmHWM:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/status"))![1]) / 1024;
}

/** Starts measuring the peak afresh (Linux: writing 5 to clear_refs resets VmHWM to the current size). */
function resetPeakRssMiB(): number {
  Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  return peakRssMiB();
}

const jobState = async (lab: TestLab, id: string) => (await lab.api("GET", `/api/v1/jobs/${id}`)).body;

Deno.test({
  name: "with CurveZMQ a worker's key speaks only for its own name, and bad frames touch no one else's jobs",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "basalt-hostile-mailbox-" });
    const master = generateKeyPair();
    const keys = { a: generateKeyPair(), b: generateKeyPair() };
    await writeCertificates(`${dir}/allowed`, "worker-a", keys.a);
    await writeCertificates(`${dir}/allowed`, "worker-b", keys.b);
    // A long heartbeat: the master still counts worker-a online for a while after it is gone.
    const heartbeatMs = 3000;
    const lab = await startTestLab({
      heartbeatMs,
      curve: { keyPair: master, authorize: allowKeysIn(`${dir}/allowed`) },
    });
    const curveOf = (pair: CurveKeyPair) => ({
      server: master.publicKey,
      public: pair.publicKey,
      secret: pair.secretKey,
    });
    const workerA = new FakeWorker("worker-a", `${dir}/worker-a`, lab.master.zmq, {
      keyPair: keys.a,
      serverPublicKey: master.publicKey,
    }, heartbeatMs);
    const mailbox = lab.master.lab.mailbox;
    try {
      await lab.addWorker("worker-a", { start: false });
      await lab.addDevice("qemu01", "qemu", "worker-a", QEMU_DICTIONARY);
      await lab.addDevice("qemu02", "qemu", "worker-a", QEMU_DICTIONARY);
      await workerA.start();
      const first = await submit(lab, "first");
      await until("worker-a starts the first job", () => workerA.starts.includes(first));
      await until("the first job runs", async () => (await jobState(lab, first)).state === "Running");

      let second = "";
      await t.step("worker-b's key, claiming worker-a's name and connection, gets none of its mail", async () => {
        // worker-a drops off; before the master notices, worker-b's key comes as worker-a.
        await workerA.stop();
        const senderDrops = mailbox.stats().dropped.sender;
        const intruder = hostilePeer(lab.master.zmq, [{
          routing_id: "worker-a",
          curve: curveOf(keys.b),
          send: [
            hello("worker-a"),
            [
              envelope({ from: "worker-a", to: `job/${first}`, kind: "job.finished", seq: 1 }),
              { json: { job: first, result: "fail", errorType: "Infrastructure", errorMsg: "forged" } },
            ],
          ],
        }], 2500);
        await until("the intruder's claims are refused", () => mailbox.stats().dropped.sender >= senderDrops + 2);
        second = await submit(lab, "second");
        await until(
          "the master has the second job's start for worker-a",
          () => mailbox.peers().some((p) => p.peer === "worker-a" && p.unacknowledged > 0),
        );
        const received = await intruder.done;
        assertEquals(received.map((m) => m.frames.join(" ").slice(0, 200)), [], "the intruder received nothing");
        await workerA.start();
        await until("worker-a, back, gets the second job", () => workerA.starts.includes(second));
        assertEquals((await jobState(lab, first)).state, "Running", "the forged end was not taken");
      });

      await t.step("an oversized frame is refused by the transport; the master's memory does not grow", async () => {
        const sizeDrops = mailbox.stats().dropped.size;
        const rss = resetPeakRssMiB();
        const peer = hostilePeer(lab.master.zmq, [{
          routing_id: routingIdFor("worker-b"),
          curve: curveOf(keys.b),
          send: [hello("worker-b"), [envelope({ from: "worker-b", kind: "job.log", seq: 1, epoch: "big" }), {
            fill: 64 << 20,
          }]],
        }], 1500);
        await peer.done;
        const grownMiB = peakRssMiB() - rss;
        assert(grownMiB < 16, `the master's peak memory grew by ${grownMiB.toFixed(0)} MiB for a 64 MiB frame`);
        assertEquals(mailbox.stats().dropped.size, sizeDrops, "the frame never reached the mailbox");
      });

      await t.step(
        "malformed frames are dropped with a reason; a bad body does not stall the sender's stream",
        async () => {
          const before = mailbox.stats().dropped;
          const from = "worker-b";
          const peer = hostilePeer(lab.master.zmq, [{
            routing_id: routingIdFor(from),
            curve: curveOf(keys.b),
            send: [
              hello(from),
              [{ text: "one frame" }],
              [{ text: "a" }, { text: "b" }, { text: "c" }],
              [{ text: "{not json" }, { json: {} }],
              [{ json: [1, 2] }, { json: {} }],
              [envelope({ from, kind: "job.log", seq: "7" }), { json: {} }],
              [envelope({ from, kind: "ack", ack: ["no-such-epoch", 2 ** 53 - 1] }), { json: {} }],
              // A numbered message whose body is not JSON is dropped, and the stream moves past it.
              [envelope({ from, to: "job/999", kind: "job.log", seq: 1, base: 1 }), { text: "{not json either" }],
              [
                envelope({ from, to: "job/999", kind: "job.refused", seq: 2, base: 1 }),
                { json: { job: "999", reason: "not mine" } },
              ],
              [envelope({ from, to: "job/999", kind: "job.refused", seq: 2 ** 53 - 1 }), { json: { job: "999" } }],
            ],
          }], 2000);
          const received = await peer.done;
          const acked = received.map((m) => JSON.parse(m.frames[0]).ack?.[1] ?? 0);
          assert(Math.max(0, ...acked) === 2, `the master acknowledged up to seq 2 (acks: ${acked})`);
          const after = mailbox.stats().dropped;
          for (const reason of ["frames", "envelope", "body"] as const) {
            assert(after[reason] > before[reason], `dropped as ${reason}: ${JSON.stringify(after)}`);
          }
        },
      );

      await t.step("worker-a's jobs were untouched throughout and end as it reports them", async () => {
        workerA.finish(first);
        workerA.finish(second);
        for (const id of [first, second]) {
          await until(`job ${id} ends`, async () => (await jobState(lab, id)).state === "Finished");
          assertEquals((await jobState(lab, id)).health, "Complete");
        }
      });

      await t.step(
        "a job too large for its worker is refused at submission, and its device takes the next job",
        async () => {
          // Within the API's 8 MiB, beyond the 4 Mi characters a worker takes for a definition.
          const huge = {
            ...qemuJob({ name: "huge", tests: [inlineTest("huge", [`echo ${"x".repeat(4_300_000)}`])] }),
          };
          const response = await lab.api<{ error: string }>("POST", "/api/v1/jobs", { definition: stringify(huge) });
          assertEquals(response.status, 400, JSON.stringify(response.body).slice(0, 500));
          assert(response.body.error.includes("characters; at most"), response.body.error);
          const next = await submit(lab, "next");
          await until("worker-a gets the next job", () => workerA.starts.includes(next));
        },
      );
    } finally {
      await workerA.stop();
      await lab.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "workers that register themselves are bounded in number and refused by name, and the master keeps storing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "basalt-hostile-mailbox-" });
    const lab = await startTestLab();
    const known = new FakeWorker("known-1", `${dir}/known-1`, lab.master.zmq, undefined, 200);
    try {
      await lab.addWorker("known-1", { start: false });
      const bad = ["evil:colon", "evil/slash", "evil@at"];
      const flood = Array.from({ length: 3 * MAX_UNADOPTED_WORKERS }, (_, i) => `flood-${i}`);
      const names = [...bad, ...flood];
      const peer = hostilePeer(
        lab.master.zmq,
        names.map((name) => ({
          routing_id: routingIdFor(name),
          send: [hello(name)],
        })),
        2000,
      );
      const received = await peer.done;
      const refusedNames = new Set(
        received.filter((m) => JSON.parse(m.frames[0]).kind === "refuse").map((m) => names[m.socket]),
      );
      for (const name of bad) assert(refusedNames.has(name), `${name} was refused`);
      const registered = [...lab.master.lab.catalog.workers.keys()].filter((n) => n !== "known-1");
      assert(registered.length <= MAX_UNADOPTED_WORKERS, `${registered.length} workers registered themselves`);
      assertEquals(registered.filter((n) => bad.includes(n)), []);
      assertEquals(refusedNames.size, names.length - registered.length, "every peer not registered was told why");

      // The master still stores what happens: a known worker comes online and its link lands in the journal.
      await known.start();
      const db = lab.master.storage.db;
      await until(
        "the known worker's link is stored",
        async () =>
          (await db.selectFrom("mailbox_links").select("peer").where("peer", "=", "known-1").execute()).length === 1,
      );
      const links = await db.selectFrom("mailbox_links").select("peer").execute();
      assert(links.length <= MAX_UNADOPTED_WORKERS + 1, `${links.length} mailbox links stored`);
      const rows = await db.selectFrom("workers").select("hostname").execute();
      assertEquals(rows.length, registered.length + 1);
    } finally {
      await known.stop();
      await lab.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
