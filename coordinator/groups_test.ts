import { assert, assertEquals } from "../tests/support/assert.ts";
import { deserializeGroup, Groups, serializeGroup, WAIT } from "./groups.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

const join = (client: string, request: Record<string, unknown>) => ({
  client_name: client,
  group_name: "g",
  group_size: 3,
  hostname: `h${client}`,
  role: "node",
  ...request,
});

Deno.test("an aggregate asked again while its group is incomplete reports no change, so a held one is not asked forever", () => {
  const groups = new Groups(Date.now, DEFAULT_LIMITS);
  const request = join("1", { request: "aggregate", bundle: "b", sub_id: "1.0" });
  assertEquals(groups.handle(request).changed, true);
  const again = groups.handle(request);
  assertEquals([again.reply, again.changed], [WAIT, false]);
});

Deno.test("a group lets in no more clients than its size, and no size over the limit", () => {
  const groups = new Groups(Date.now, DEFAULT_LIMITS);
  for (const c of ["1", "2", "3"]) groups.handle(join(c, { request: "group_data" }));
  assertEquals(groups.handle(join("4", { request: "group_data" })).reply, {
    response: "nack",
    error: "g already has its 3 clients; 4 is not one of them",
  });
  const huge = groups.handle(join("1", { request: "group_data", group_name: "h", group_size: 10 ** 9 }));
  assertEquals(huge.reply?.response, "nack");
  assertEquals(groups.groups.has("h"), false);
});

Deno.test("groups created from one address stop at its limit while other addresses can still create them", () => {
  const groups = new Groups(Date.now, { ...DEFAULT_LIMITS, maxGroupsPerAddress: 2 });
  for (const name of ["a", "b"]) groups.handle(join("1", { request: "group_data", group_name: name }), "10.0.0.1");
  const third = groups.handle(join("1", { request: "group_data", group_name: "c" }), "10.0.0.1");
  assert(String(third.reply?.error).includes("10.0.0.1 created 2 groups"), String(third.reply?.error));
  assertEquals(groups.handle(join("1", { request: "group_data", group_name: "c" }), "10.0.0.2").reply, WAIT);
});

Deno.test("a stored group keeps each message once, and comes back with every mailbox as it was", () => {
  const groups = new Groups(Date.now, DEFAULT_LIMITS);
  for (const c of ["1", "2", "3"]) groups.handle(join(c, { request: "group_data" }));
  const blob = "x".repeat(10_000);
  groups.handle(join("1", { request: "lava_send", messageID: "m", message: { blob } }));
  groups.handle(join("2", { request: "lava_send", messageID: "m", message: { two: "2" } }));
  groups.handle(join("3", { request: "lava_sync", messageID: "s" }));
  const group = groups.groups.get("g")!;
  const text = serializeGroup(group);
  assert(text.length < 2 * blob.length, `${text.length} characters stored for one message of ${blob.length}`);
  const back = deserializeGroup(text);
  assertEquals(back.messages, group.messages);
  assertEquals(JSON.parse(serializeGroup(back)), JSON.parse(text));
});
