import { createActor } from "xstate";
import { assertEquals } from "../../tests/support/assert.ts";
import { type GroupEvent, groupMachine, type GroupMember } from "./multinode_group.ts";

const MEMBERS: GroupMember[] = [
  { id: "10", essential: true },
  { id: "11", essential: false },
  { id: "12", essential: false },
];

/** A group whose cancellations are recorded: each call lists the members it would cancel. */
function group(ended: string[] = []) {
  const cancelled: string[][] = [];
  const actor = createActor(
    groupMachine.provide({
      actions: {
        cancelMembers: ({ context }) =>
          cancelled.push(context.members.map((m) => m.id).filter((id) => !context.ended.includes(id))),
      },
    }),
    { input: { group: "g1", members: MEMBERS, ended } },
  );
  actor.start();
  return {
    send: (event: GroupEvent) => actor.send(event),
    state: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    cancelled,
    done: () => actor.getSnapshot().status === "done",
  };
}

Deno.test("a group waits for devices until all its members are placed", () => {
  const g = group();
  assertEquals(g.state(), "Waiting");
  g.send({ type: "placed" });
  assertEquals(g.state(), "Running");
});

Deno.test("members ending Complete cancel nothing and the last one ends the group", () => {
  const g = group();
  g.send({ type: "placed" });
  g.send({ type: "memberEnded", job: "11", health: "Complete" });
  g.send({ type: "memberEnded", job: "10", health: "Complete" });
  assertEquals([g.state(), g.context().ended], ["Running", ["11", "10"]]);
  g.send({ type: "memberEnded", job: "12", health: "Complete" });
  assertEquals([g.state(), g.cancelled, g.done()], ["Ended", [], true]);
});

Deno.test("a member of a role that is not essential may fail alone", () => {
  const g = group();
  g.send({ type: "placed" });
  g.send({ type: "memberEnded", job: "11", health: "Incomplete" });
  assertEquals([g.state(), g.cancelled], ["Running", []]);
});

Deno.test("an essential member failing cancels every member still going", () => {
  const g = group();
  g.send({ type: "placed" });
  g.send({ type: "memberEnded", job: "11", health: "Complete" });
  g.send({ type: "memberEnded", job: "10", health: "Incomplete" });
  assertEquals([g.state(), g.cancelled, g.context().reason], ["Canceling", [["12"]], "job 10 ended Incomplete"]);
});

Deno.test("any member cancelled cancels the others, even while the group waits", () => {
  const g = group();
  g.send({ type: "memberEnded", job: "12", health: "Canceled" });
  assertEquals([g.state(), g.cancelled], ["Canceling", [["10", "11"]]]);
});

Deno.test("a cancelled group ends when its last member does, cancelling only once", () => {
  const g = group();
  g.send({ type: "placed" });
  g.send({ type: "cancel", reason: "queue timeout" });
  assertEquals([g.state(), g.context().reason, g.cancelled], ["Canceling", "queue timeout", [["10", "11", "12"]]]);
  g.send({ type: "cancel", reason: "again" });
  g.send({ type: "memberEnded", job: "10", health: "Canceled" });
  g.send({ type: "memberEnded", job: "11", health: "Canceled" });
  assertEquals([g.state(), g.cancelled.length], ["Canceling", 1]);
  g.send({ type: "memberEnded", job: "12", health: "Canceled" });
  assertEquals([g.state(), g.done()], ["Ended", true]);
});

Deno.test("a waiting group can be cancelled as a whole", () => {
  const g = group();
  g.send({ type: "cancel", reason: "user" });
  assertEquals([g.state(), g.cancelled], ["Canceling", [["10", "11", "12"]]]);
});

Deno.test("the last member failing ends the group without cancelling anyone", () => {
  const g = group(["11", "12"]);
  g.send({ type: "placed" });
  g.send({ type: "memberEnded", job: "10", health: "Incomplete" });
  assertEquals([g.state(), g.cancelled], ["Ended", []]);
});

Deno.test("a member's end reported twice counts once", () => {
  const g = group();
  g.send({ type: "memberEnded", job: "11", health: "Complete" });
  g.send({ type: "memberEnded", job: "11", health: "Complete" });
  assertEquals(g.context().ended, ["11"]);
});

Deno.test("an ended group takes no further event", () => {
  const g = group(["11", "12"]);
  g.send({ type: "memberEnded", job: "10", health: "Complete" });
  g.send({ type: "cancel", reason: "late" });
  g.send({ type: "placed" });
  assertEquals([g.state(), g.cancelled], ["Ended", []]);
});
