/**
 * `deno task coordinator` as a real process, driven over TCP with LAVA's exact
 * frames: every request and reply, two and five clients interleaving,
 * `waitrole`, sync ids reused, `clear_group`, held requests, 2,000 malformed
 * frames, and a kill -9 between a send and its wait.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { call, exchange, frame, framed, lavaRequest as request, startCoordinator } from "./support/coordinator_peer.ts";
import { SeededRandom } from "./support/random.ts";

Deno.test("the coordinator speaks LAVA's protocol byte for byte", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-coordinator-" });
  const { process, port } = await startCoordinator(dir);
  try {
    await t.step("group_data waits for every client, then names their roles", async () => {
      assertEquals(await call(port, request("1", "server", { request: "group_data" })), framed('{"response": "wait"}'));
      assertEquals(await call(port, request("2", "client", { request: "group_data" })), framed('{"response": "wait"}'));
      assertEquals(
        await call(port, request("3", "client", { request: "group_data" })),
        framed('{"response": "group_data", "roles": {"1": "server", "2": "client", "3": "client"}}'),
      );
    });
    await t.step("lava_wait waits for a lava_send and gets every sender's message, keyed by job", async () => {
      assertEquals(
        await call(port, request("1", "server", { request: "lava_wait", messageID: "ip" })),
        framed('{"response": "wait"}'),
      );
      assertEquals(
        await call(
          port,
          request("3", "client", { request: "lava_send", messageID: "ip", message: { ip: "10.0.0.3" } }),
        ),
        framed('{"response": "ack"}'),
      );
      assertEquals(
        await call(
          port,
          request("2", "client", { request: "lava_send", messageID: "ip", message: { ip: "10.0.0.2" } }),
        ),
        framed('{"response": "ack"}'),
      );
      const expected = '{"response": "ack", "message": {"3": {"ip": "10.0.0.3"}, "2": {"ip": "10.0.0.2"}}}';
      assertEquals(
        await call(port, request("1", "server", { request: "lava_wait", messageID: "ip" })),
        framed(expected),
      );
      // Not consumed: asking again answers again.
      assertEquals(
        await call(port, request("1", "server", { request: "lava_wait", messageID: "ip" })),
        framed(expected),
      );
    });
    await t.step("lava_wait_all answers nack before anyone sent, waits for everyone, the asker included", async () => {
      assertEquals(
        await call(port, request("1", "server", { request: "lava_wait_all", messageID: "done" })),
        framed('{"response": "nack"}'),
      );
      await call(port, request("2", "client", { request: "lava_send", messageID: "done" }));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "done" })),
        framed('{"response": "wait"}'),
      );
      await call(port, request("3", "client", { request: "lava_send", messageID: "done" }));
      assertEquals(
        await call(port, request("1", "server", { request: "lava_wait_all", messageID: "done" })),
        framed('{"response": "wait"}'),
      );
      await call(port, request("1", "server", { request: "lava_send", messageID: "done", message: { all: "yes" } }));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "done" })),
        framed('{"response": "ack", "message": {"2": {}, "3": {}, "1": {"all": "yes"}}}'),
      );
    });
    await t.step("lava_wait_all with waitrole waits for the role's first member", async () => {
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "go", waitrole: "server" })),
        framed('{"response": "wait"}'),
      );
      await call(port, request("3", "client", { request: "lava_send", messageID: "go", message: { c: "3" } }));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "go", waitrole: "server" })),
        framed('{"response": "wait"}'),
      );
      await call(port, request("1", "server", { request: "lava_send", messageID: "go", message: { s: "1" } }));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "go", waitrole: "server" })),
        framed('{"response": "ack", "message": {"3": {"c": "3"}, "1": {"s": "1"}}}'),
      );
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait_all", messageID: "go", waitrole: "nobody" })),
        framed('{"response": "nack"}'),
      );
    });
    await t.step(
      "lava_sync releases a round one poll after the last arrival, and its id can be used again",
      async () => {
        const sync = (c: string, r: string) => call(port, request(c, r, { request: "lava_sync", messageID: "s1" }));
        const ack = framed('{"response": "ack", "message": "s1"}');
        assertEquals(
          [await sync("1", "server"), await sync("2", "client"), await sync("3", "client")],
          Array(3).fill(framed('{"response": "wait"}')),
        );
        assertEquals(await sync("1", "server"), ack);
        assertEquals(await sync("1", "server"), ack, "again before the others collect: at once");
        assertEquals(await sync("2", "client"), ack);
        assertEquals(await sync("3", "client"), ack);
        assertEquals(await sync("3", "client"), framed('{"response": "wait"}'), "a new round");
      },
    );
    await t.step(
      "unknown requests and missing fields are answered nack with what was wrong, unknown groups nack as in LAVA; complete gets no bytes",
      async () => {
        assertEquals(
          await call(port, request("1", "server", { request: "lava_dance" })),
          framed('{"response": "nack", "error": "unknown request \\"lava_dance\\""}'),
        );
        assertEquals(
          await call(port, { client_name: "1", request: "lava_send" }),
          framed('{"response": "nack", "error": "no group_name"}'),
        );
        assertEquals(
          await call(port, { group_name: "x", request: "lava_send" }),
          framed('{"response": "nack", "error": "no client_name"}'),
        );
        assertEquals(
          await call(port, request("9", "r", { request: "lava_wait", messageID: "a" }, "unknown-group")),
          framed('{"response": "nack"}'),
        );
        assertEquals(await call(port, request("1", "server", { request: "complete" })), "");
      },
    );
    await t.step("clear_group deletes the group once every client has called it", async () => {
      assertEquals(await call(port, request("1", "server", { request: "clear_group" })), framed('{"response": "ack"}'));
      assertEquals(await call(port, request("2", "client", { request: "clear_group" })), framed('{"response": "ack"}'));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait", messageID: "ip" })),
        framed('{"response": "ack", "message": {"3": {"ip": "10.0.0.3"}, "2": {"ip": "10.0.0.2"}}}'),
      );
      assertEquals(await call(port, request("3", "client", { request: "clear_group" })), framed('{"response": "ack"}'));
      assertEquals(
        await call(port, request("2", "client", { request: "lava_wait", messageID: "ip" })),
        framed('{"response": "nack"}'),
      );
    });
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("five clients interleaving hold their requests and are released together", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-coordinator-" });
  const { process, port } = await startCoordinator(dir);
  try {
    const clients = ["10", "11", "12", "13", "14"];
    const hold = { hold_ms: 20_000 };
    const data = await Promise.all(
      clients.map((c) =>
        call(port, request(c, c === "10" ? "host" : "guest", { request: "group_data", ...hold }, "g5", 5))
      ),
    );
    assert(data.every((d) => d.includes('"response": "group_data"')), data.join("\n"));
    const waiter = call(port, request("10", "host", { request: "lava_wait", messageID: "hello", ...hold }, "g5", 5));
    await call(
      port,
      request("12", "guest", { request: "lava_send", messageID: "hello", message: { from: "12" } }, "g5", 5),
    );
    assertEquals(await waiter, framed('{"response": "ack", "message": {"12": {"from": "12"}}}'));
    const syncs = await Promise.all(
      clients.map((c) =>
        call(
          port,
          request(c, c === "10" ? "host" : "guest", { request: "lava_sync", messageID: "barrier", ...hold }, "g5", 5),
        )
      ),
    );
    assertEquals(syncs, Array(5).fill(framed('{"response": "ack", "message": "barrier"}')));
    // Two clients in another group at the same time do not disturb each other.
    const pair = await Promise.all(
      ["20", "21"].map((c) =>
        call(port, request(c, "peer", { request: "lava_sync", messageID: "barrier", group_size: 2, ...hold }, "g2", 2))
      ),
    );
    assertEquals(pair, Array(2).fill(framed('{"response": "ack", "message": "barrier"}')));
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("2,000 malformed frames are each answered and the coordinator still syncs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-coordinator-" });
  const { process, port } = await startCoordinator(dir);
  try {
    const seeded = new SeededRandom(7);
    const random = () => seeded.next();
    const encoder = new TextEncoder();
    const samples: (() => Uint8Array)[] = [
      () => seeded.bytes(seeded.int(64)),
      () => encoder.encode("ZZZZZZZZ{}"),
      () => encoder.encode("00000010{not json}"),
      () => frame(JSON.stringify([1, 2, 3])),
      () => frame(JSON.stringify({ request: "lava_sync" })),
      () => frame(JSON.stringify({ request: "group_data", client_name: "1", group_name: "g", group_size: "many" })),
      () =>
        frame(
          JSON.stringify({
            request: "lava_wait_all",
            client_name: "1",
            group_name: "g",
            group_size: 2,
            hostname: "h",
            role: "r",
            waitrole: "none",
          }),
        ),
      () => frame(JSON.stringify({ request: 42, client_name: null })),
      () => encoder.encode("000000FF" + '{"request": "lava_send"'),
      () => new Uint8Array([...encoder.encode("00000004"), 0xff, 0xfe, 0xfd, 0xfc]),
      () => encoder.encode("0000"),
      () =>
        frame(
          JSON.stringify({
            request: "lava_send",
            client_name: "1",
            group_name: "g",
            group_size: 2,
            hostname: "h",
            role: "r",
            messageID: "m",
            message: "x".repeat(Math.floor(random() * 5000)),
          }),
        ),
    ];
    let answered = 0;
    let closed = 0;
    for (let i = 0; i < 2000; i++) {
      const reply = await exchange(port, samples[Math.floor(random() * samples.length)]());
      if (reply === "") closed++;
      else {
        assert(/^[0-9A-F]{8}\{"response": "(nack|ack|wait|group_data)"/.test(reply), reply);
        answered++;
      }
    }
    assertEquals(answered + closed, 2000);
    assertEquals(closed, 0, "a malformed frame is answered with what was wrong before its connection closes");
    const hold = { hold_ms: 10_000 };
    const after = await Promise.all(
      ["1", "2"].map((c) =>
        call(port, request(c, "r", { request: "lava_sync", messageID: "ok", group_size: 2, ...hold }, "fresh", 2))
      ),
    );
    assertEquals(after, Array(2).fill(framed('{"response": "ack", "message": "ok"}')));
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a coordinator killed between a lava_send and its lava_wait still delivers the message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-coordinator-" });
  let { process, port } = await startCoordinator(dir);
  try {
    for (const c of ["1", "2"]) await call(port, request(c, "node", { request: "group_data" }, "restart", 2));
    await call(
      port,
      request("1", "node", { request: "lava_send", messageID: "before", message: { survived: "yes" } }, "restart", 2),
    );
    process.kill("SIGKILL");
    await process.exited;
    ({ process, port } = await startCoordinator(dir));
    assertEquals(
      await call(port, request("2", "node", { request: "lava_wait", messageID: "before" }, "restart", 2)),
      framed('{"response": "ack", "message": {"1": {"survived": "yes"}}}'),
    );
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
