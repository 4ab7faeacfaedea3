/**
 * Attacks on the MultiNode coordinator, sent as a network peer sends them —
 * raw frames on TCP to the real `coordinator/main.ts` process: lengths that
 * lie, requests that are not what they say, more connections than anyone
 * needs, messages until memory runs out, and held requests that used to keep
 * the coordinator busy forever. After each, it must still serve a MultiNode
 * exchange; the process is watched through /proc.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { call, exchange, frame, framed, lavaRequest, startCoordinator } from "../support/coordinator_peer.ts";
import { cpuMsOver, openFds, rssMiB } from "../support/proc_usage.ts";
import { pythonJson } from "../../actors/multinode/python_json.ts";

const encoder = new TextEncoder();

/** The reply's JSON (after its 8-digit length). */
function parse(reply: string): Record<string, unknown> {
  assert(/^[0-9A-F]{8}\{/.test(reply), `not a framed JSON reply: ${JSON.stringify(reply.slice(0, 100))}`);
  return JSON.parse(reply.slice(8));
}

/** Asserts a `nack` whose error names what was wrong. */
function assertRefused(reply: string, says: string): void {
  const body = parse(reply);
  assertEquals(body.response, "nack", `expected a refusal saying ${JSON.stringify(says)}: ${reply}`);
  assertStringIncludes(String(body.error), says);
}

/** Two clients of a fresh group doing what a MultiNode job does, each request held as Basalt's dispatcher holds it. */
async function multinodeExchange(port: number, group: string): Promise<void> {
  const hold = { hold_ms: 5_000 };
  const node = (c: string, fields: Record<string, unknown>) =>
    call(port, lavaRequest(c, "node", { ...fields, ...hold }, group, 2), 8_000);
  const data = await Promise.all(["1", "2"].map((c) => node(c, { request: "group_data" })));
  assert(data.every((d) => d.includes('"response": "group_data"')), data.join("\n"));
  const waiting = node("1", { request: "lava_wait", messageID: "ip" });
  assertEquals(
    await node("2", { request: "lava_send", messageID: "ip", message: { ip: "10.0.0.2" } }),
    framed('{"response": "ack"}'),
  );
  assertEquals(await waiting, framed('{"response": "ack", "message": {"2": {"ip": "10.0.0.2"}}}'));
  const syncs = await Promise.all(["1", "2"].map((c) => node(c, { request: "lava_sync", messageID: "done" })));
  assertEquals(syncs, Array(2).fill(framed('{"response": "ack", "message": "done"}')));
}

Deno.test("a hostile peer cannot freeze, flood or break the coordinator", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-hostile-coordinator-" });
  const { process, port } = await startCoordinator(dir);
  const pid = process.pid;
  try {
    await t.step(
      "a declared length over 64 KiB is answered with the limit and closed, before any of it is read",
      async () => {
        const rssBefore = rssMiB(pid);
        for (const header of ["7FFFFFFF", "FFFFFFFF", "00010001"]) {
          const reply = await exchange(port, encoder.encode(header + "x".repeat(4096)), 5_000);
          assertRefused(reply, "over the limit of 65536 bytes");
        }
        // Peers that declare just under the limit and send nothing more hold only what they sent.
        const stalled = await Promise.all(Array.from({ length: 200 }, async () => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          await conn.write(encoder.encode("0000FFFF{"));
          return conn;
        }));
        await new Promise((r) => setTimeout(r, 300));
        const grown = rssMiB(pid) - rssBefore;
        for (const conn of stalled) conn.close();
        assert(grown < 40, `200 peers declaring 64 KiB each grew the coordinator by ${grown.toFixed(0)} MiB`);
      },
    );

    await t.step("malformed requests are answered with what was wrong, and nothing else changes", async () => {
      // Each in a group of its own that does not exist yet, so every field is looked at.
      let groups = 0;
      const base = (fields: Record<string, unknown>) =>
        JSON.stringify({ ...lavaRequest("1", "r", { request: "group_data" }, `typed-${groups++}`, 2), ...fields });
      const cases: [Uint8Array, string][] = [
        [encoder.encode("00000005hello"), "not JSON"],
        [encoder.encode("ZZZZZZZZ{}"), "is not 8 hex digits"],
        [frame("[1, 2, 3]"), "not a JSON object"],
        [frame(base({ request: 42 })), "request must be a string"],
        [frame(base({ request: "lava_dance" })), 'unknown request "lava_dance"'],
        [frame(base({ group_size: "x" })), 'group_size "x"'],
        [frame(base({ group_size: 1e9 })), "group_size 1000000000"],
        [frame(base({ group_size: 2.5 })), "group_size 2.5"],
        [frame(base({}).replace(/}$/, ', "group_size": 1e400}')), "group_size null"],
        [frame(base({ client_name: { a: 1 } })), "client_name must be"],
        [frame(base({ client_name: undefined })), "no client_name"],
        [frame(base({ role: ["r"] })), "role must be a string"],
        [frame(base({ group_name: "g".repeat(5000) })), "group_name is 5000 characters"],
        [frame(base({ request: "lava_send", messageID: ["a"] })), "messageID must be"],
        [frame(base({ request: "lava_send" }).replace(/}$/, `, "message": ${nested(20_000)}}`)), "nests deeper than"],
      ];
      for (const [bytes, says] of cases) assertRefused(await exchange(port, bytes, 5_000), says);
      // A group of two: a third client is not let in, and a request nested too deep changed nothing.
      for (const c of ["1", "2"]) await call(port, lavaRequest(c, "r", { request: "group_data" }, "pair", 2));
      assertRefused(
        await call(port, lavaRequest("3", "r", { request: "group_data" }, "pair", 2)),
        "already has its 2 clients",
      );
      const deep = pythonJson(lavaRequest("1", "r", { request: "lava_send", messageID: "m" }, "pair"));
      assertRefused(
        await exchange(port, frame(deep.replace(/}$/, `, "message": ${nested(1000)}}`))),
        "nests deeper than",
      );
      assertEquals(
        await call(port, lavaRequest("1", "r", { request: "lava_send", messageID: "m", message: { ok: "1" } }, "pair")),
        framed('{"response": "ack"}'),
      );
      assertEquals(
        await call(port, lavaRequest("2", "r", { request: "lava_wait", messageID: "m" }, "pair")),
        framed('{"response": "ack", "message": {"1": {"ok": "1"}}}'),
      );
      assert(await Promise.race([process.exited.then(() => false), Promise.resolve(true)]), "the coordinator died");
    });

    await t.step("a group that keeps sending is stopped at its bound, keeps what it had and works on", async () => {
      const send = (c: string, id: string, size: number) =>
        call(
          port,
          lavaRequest(c, "r", { request: "lava_send", messageID: id, message: { blob: "x".repeat(size) } }, "flood"),
        );
      for (const c of ["1", "2"]) await call(port, lavaRequest(c, "r", { request: "group_data" }, "flood", 2));
      let refused = "";
      for (let i = 0; i < 100 && !refused; i++) {
        const reply = await send("1", `m${i}`, 60 * 1024);
        if (!reply.includes('"ack"')) refused = reply;
      }
      assertRefused(refused, "over the limit of 1048576 bytes for a group");
      assertEquals(
        parse(await call(port, lavaRequest("2", "r", { request: "lava_wait", messageID: "m0" }, "flood"))).response,
        "ack",
      );
      assertEquals(await send("2", "small", 10), framed('{"response": "ack"}'));
      await multinodeExchange(port, "after-flood");
    });

    await t.step("1,000 idle connections do not lock a MultiNode job out", async () => {
      const idle: Deno.Conn[] = [];
      const closedByCoordinator: Promise<boolean>[] = [];
      for (let i = 0; i < 1000; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        // Some send nothing, some half a header: a byte a minute would look the same.
        if (i % 2) await conn.write(encoder.encode("0000"));
        idle.push(conn);
        closedByCoordinator.push(conn.read(new Uint8Array(64)).then((n) => n === null, () => true));
      }
      try {
        await multinodeExchange(port, "among-idle");
        await new Promise((r) => setTimeout(r, 100));
        const fds = openFds(pid);
        assert(fds < 400, `the coordinator holds ${fds} open files with 1,000 idle peers`);
        const closed = (await Promise.all(closedByCoordinator.map((p) => Promise.race([p, Promise.resolve(false)]))))
          .filter(Boolean).length;
        assert(closed >= 1000 - 256, `only ${closed} of 1,000 idle connections were closed`);
      } finally {
        for (const conn of idle) {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      }
    });

    await t.step("held requests cost no CPU while they wait, even ones that change their group", async () => {
      const pending: Promise<string>[] = [];
      // The aggregates hold long: they must still be waiting when the group completes, however
      // slowly a loaded machine runs the steps between; the others hold briefly and answer `wait`.
      const held = (fields: Record<string, unknown>, group: string, size: number, client = "1", holdMs = 3_000) => {
        const body = { ...lavaRequest(client, "r", fields, group, size), group_size: size, hold_ms: holdMs };
        const reply = call(port, body, holdMs + 5_000);
        pending.push(reply);
        return reply;
      };
      try {
        // An aggregate in a group that is not complete; a lava_wait_all nobody answers; and the
        // same client syncing one id with two messages, each undoing the other's change.
        const aggregate = held({ request: "aggregate", bundle: "b1", sub_id: "1.0" }, "agg", 2, "1", 30_000);
        await call(port, {
          ...lavaRequest("2", "r", { request: "lava_send", messageID: "never" }, "wait-all"),
          group_size: 2,
        });
        const waitAll = held({ request: "lava_wait_all", messageID: "never" }, "wait-all", 2);
        const syncA = held({ request: "lava_sync", messageID: "s", message: "a" }, "sync", 3);
        const syncB = held({ request: "lava_sync", messageID: "s", message: "b" }, "sync", 3);
        await new Promise((r) => setTimeout(r, 200));
        const cpu = await cpuMsOver(pid, 1_000);
        assert(cpu < 100, `the coordinator used ${cpu} ms of CPU in 1 s while requests were held`);
        await multinodeExchange(port, "beside-held");
        // The older copy of the same call is answered `wait` at once; the aggregate when its group completes.
        assertEquals(parse(await syncA).response, "wait");
        const second = held({ request: "aggregate", bundle: "b2", sub_id: "2.0" }, "agg", 2, "2", 30_000);
        for (const answer of await Promise.all([aggregate, second])) assertEquals(parse(answer).response, "ack");
        assertEquals([parse(await waitAll).response, parse(await syncB).response], ["wait", "wait"]);
      } finally {
        await Promise.allSettled(pending);
      }
    });
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** JSON text of `depth` arrays inside each other (built as text: serializers recurse). */
function nested(depth: number): string {
  return "[".repeat(depth) + '"core"' + "]".repeat(depth);
}
