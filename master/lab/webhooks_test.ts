import { sql } from "kysely";
import { stringify } from "yaml";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { addUser } from "../storage/users.ts";
import { NOTIFY_LIMITS, Webhooks } from "./webhooks.ts";

/** A receiver on 127.0.0.1 that answers `statuses` in turn (then 200) and keeps what it was sent. */
function receiver(statuses: number[]) {
  const received: Record<string, unknown>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    received.push(await request.json());
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, received, close: () => server.shutdown() };
}

testOnBothBackends("job notifications", [
  {
    name: "a huge log is sent cut at the notification's bound, built when sent, and a refused delivery is retried",
    async fn(fx) {
      const { db } = await fx.open();
      const hook = receiver([500]);
      const webhooks = new Webhooks(db, createLogger({ process: "test", level: "error", write: () => {} }));
      try {
        const user = await addUser(db, { username: "ann" });
        const definition = stringify({
          job_name: "noisy",
          notify: { criteria: { status: "finished" }, callbacks: [{ url: hook.url, dataset: "all" }] },
        });
        const job = await db.insertInto("test_jobs").values({ definition, submitter_id: user.id, state: 5, health: 1 })
          .returning("id").executeTakeFirstOrThrow();
        const lines = NOTIFY_LIMITS.logLines + 500;
        await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
          SELECT ${job.id}, i, now(), 'target', '"line ' || i || '"' FROM generate_series(0, ${lines - 1}) i`
          .execute(db);
        await webhooks.jobEnded(job.id, { id: String(job.id), healthCheck: false, health: "Complete" });
        // Stored without the log: what is kept per callback is small.
        const stored = await db.selectFrom("webhook_deliveries").select("body").execute();
        assertEquals(stored.length, 1);
        assert(stored[0].body.length < 10_000, `a delivery row of ${stored[0].body.length} bytes`);
        const deadline = Date.now() + 20_000;
        while (hook.received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assertEquals(hook.received.length, 2, "the refused delivery was retried");
        const body = hook.received[1];
        assertEquals((body.log as unknown[]).length, NOTIFY_LIMITS.logLines);
        assertEquals(body.log_truncated, true);
        assertEquals(body.status, "Complete");
        // Delivered: the row goes once the receiver's answer is in.
        const owed = () => db.selectFrom("webhook_deliveries").select("id").execute();
        while ((await owed()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assertEquals(await owed(), []);
      } finally {
        await webhooks.close();
        await hook.close();
      }
    },
  },
]);
