import { assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { appendActorEvent, listActorEvents } from "./actor_events.ts";

testOnBothBackends("actor events", [
  {
    name: "an actor's events come back in sequence order and a replayed one lands once",
    async fn(fx) {
      const { db } = await fx.open();
      const event = (sequence: number, stateAfter: string) => ({
        actorKind: "device",
        actorId: "qemu01",
        sequence,
        eventType: "health.set",
        stateBefore: null,
        stateAfter,
        payload: { reason: `step ${sequence}` },
      });
      assertEquals(await appendActorEvent(db, event(1, "Bad")), true);
      assertEquals(await appendActorEvent(db, event(0, "Good")), true);
      assertEquals(await appendActorEvent(db, event(1, "Bad")), false);
      await appendActorEvent(db, { ...event(0, "Idle"), actorKind: "worker", actorId: "w1" });
      const history = await listActorEvents(db, "device", "qemu01");
      assertEquals(history.map((e) => [e.sequence, e.state_after, e.payload]), [
        [0, "Good", { reason: "step 0" }],
        [1, "Bad", { reason: "step 1" }],
      ]);
      assertEquals((await listActorEvents(db, "device", "qemu01", 0)).map((e) => e.sequence), [1]);
    },
  },
]);
