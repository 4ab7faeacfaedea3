import { assertEquals } from "../../tests/support/assert.ts";
import { Link } from "./link.ts";

const tuning = { window: 3, retransmitAfterMs: 1000 };

function sender() {
  const link = Link.fresh("master", "epoch-w");
  for (let i = 0; i < 5; i++) link.enqueue("job/1", "job.log", `{"i":${i}}`);
  return link;
}

Deno.test("nothing leaves before it is durable, and then only a window's worth", () => {
  const link = sender();
  assertEquals(link.due(0, tuning), []);
  for (const e of link.outbox) e.durable = true;
  const first = link.due(0, tuning);
  assertEquals(first.map((e) => e.record.seq), [1, 2, 3]);
  for (const e of first) e.sentAt = 0;
  assertEquals(link.due(10, tuning), []);
  assertEquals(link.acknowledge("epoch-w", 2, 20), 2);
  const next = link.due(20, tuning);
  assertEquals(next.map((e) => e.record.seq), [4, 5]);
});

Deno.test("an acknowledgement for another epoch or an old level changes nothing", () => {
  const link = sender();
  assertEquals(link.acknowledge("someone-else", 5, 0), undefined);
  assertEquals(link.acknowledge("epoch-w", 0, 0), undefined);
  assertEquals(link.outbox.length, 5);
});

Deno.test("an acknowledgement of messages never numbered is ignored and forgets nothing", () => {
  const link = sender();
  assertEquals(link.acknowledge("epoch-w", 6, 0), undefined);
  assertEquals(link.acknowledge("epoch-w", 2 ** 53 - 1, 0), undefined);
  assertEquals(link.outbox.map((e) => e.record.seq), [1, 2, 3, 4, 5]);
  assertEquals(link.acknowledge("epoch-w", 5, 0), 5);
});

Deno.test("a window without progress is sent again from its oldest message", () => {
  const link = sender();
  for (const e of link.outbox) e.durable = true;
  for (const e of link.due(0, tuning)) {
    e.sentAt = 0;
    e.transmissions++;
  }
  assertEquals(link.due(999, tuning), []);
  const again = link.due(1000, tuning);
  assertEquals(again.map((e) => e.record.seq), [1, 2, 3]);
  for (const e of again) e.transmissions++;
  assertEquals(link.retransmissions, 3);
});

Deno.test("the receiver hands on each message once and in order", () => {
  const link = Link.fresh("w1", "epoch-m");
  assertEquals(link.arrive("epoch-w", 1, 1).verdict, "deliver");
  assertEquals(link.arrive("epoch-w", 1, 1).verdict, "duplicate");
  assertEquals(link.arrive("epoch-w", 3, 1), { verdict: "gap", expected: 2, newEpoch: false });
  assertEquals(link.arrive("epoch-w", 2, 1).verdict, "deliver");
  assertEquals(link.delivered, 2);
});

Deno.test("a peer with a new journal starts a new stream at the base it announces", () => {
  const link = Link.fresh("w1", "epoch-m");
  for (let seq = 1; seq <= 10; seq++) link.arrive("epoch-old", seq, 1);
  const arrival = link.arrive("epoch-new", 1, 1);
  assertEquals(arrival, { verdict: "deliver", newEpoch: true });
  assertEquals([link.peerEpoch, link.delivered], ["epoch-new", 1]);
});

Deno.test("a receiver that forgot us resumes at the sender's oldest unacknowledged message", () => {
  const link = Link.fresh("master", "epoch-w2");
  // The sender's messages before 40 were acknowledged by our previous incarnation.
  assertEquals(link.arrive("epoch-m", 42, 40), { verdict: "gap", expected: 40, newEpoch: false });
  assertEquals(link.arrive("epoch-m", 40, 40).verdict, "deliver");
});
