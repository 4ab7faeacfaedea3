import { assertEquals } from "../tests/support/assert.ts";
import { ConnectionTable, type Phase, type Tracked } from "./connections.ts";

function connection(address: string, phase: Phase, log: string[], name: string): Tracked {
  return { address, phase, evict: () => log.push(name) };
}

Deno.test("a new connection over the per-address limit evicts that address's oldest idle one, not a held one", () => {
  const log: string[] = [];
  const table = new ConnectionTable(100, 3);
  const held = connection("a", "held", log, "held");
  table.admit(held);
  table.admit(connection("a", "reading", log, "idle-1"));
  table.admit(connection("a", "reading", log, "idle-2"));
  table.admit(connection("b", "reading", log, "other"));
  assertEquals(table.admit(connection("a", "reading", log, "new")), true);
  assertEquals(log, ["idle-1"]);
  assertEquals(table.size, 4);
});

Deno.test("over the total limit, room is made at the busiest address, held requests after idle ones", () => {
  const log: string[] = [];
  const table = new ConnectionTable(4, 10);
  table.admit(connection("quiet", "reading", log, "quiet"));
  table.admit(connection("busy", "held", log, "busy-held-1"));
  table.admit(connection("busy", "held", log, "busy-held-2"));
  table.admit(connection("busy", "replying", log, "busy-replying"));
  table.admit(connection("new", "reading", log, "n1"));
  assertEquals(log, ["busy-held-1"]);
});

Deno.test("a connection is refused only when every slot is answering a request right now", () => {
  const log: string[] = [];
  const table = new ConnectionTable(2, 2);
  const busy = [connection("a", "handling", log, "1"), connection("b", "handling", log, "2")];
  for (const c of busy) table.admit(c);
  assertEquals(table.admit(connection("c", "reading", log, "3")), false);
  table.release(busy[0]);
  table.release(busy[0]);
  assertEquals(table.size, 1);
  assertEquals(table.admit(connection("c", "reading", log, "3")), true);
  assertEquals(log, []);
});
