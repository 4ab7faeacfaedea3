import { sql } from "kysely";
import { stringify } from "yaml";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { eventually } from "../../tests/support/wait.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { createLogger } from "../../actors/runtime/log.ts";
import { addCallbackToken } from "../storage/callback_tokens.ts";
import { SecretBox } from "../storage/secret_box.ts";
import { addUser } from "../storage/users.ts";
import { NOTIFY_LIMITS, Webhooks } from "./webhooks.ts";

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly text: string;
}

/** A receiver on 127.0.0.1 that answers `statuses` in turn (then 200) and keeps what it was sent. */
function receiver(statuses: number[] = []) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    received.push({ method: request.method, url: request.url, headers: request.headers, text: await request.text() });
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, received, close: () => server.shutdown() };
}

const quiet = () => createLogger({ process: "test", level: "error", write: () => {} });

testOnBothBackends("job notifications", [
  {
    name: "a huge log is sent cut at the notification's bound, built when sent, and a refused delivery is retried",
    async fn(fx) {
      const { db } = await fx.open();
      const hook = receiver([500]);
      const webhooks = new Webhooks(db, quiet());
      try {
        const user = await addUser(db, { username: "ann" });
        const definition = stringify({
          job_name: "noisy",
          notify: {
            criteria: { status: "finished" },
            callbacks: [{ url: hook.url, method: "POST", dataset: "all", "content-type": "json" }],
          },
        });
        const job = await db.insertInto("test_jobs").values({ definition, submitter_id: user.id, state: 5, health: 1 })
          .returning("id").executeTakeFirstOrThrow();
        const lines = NOTIFY_LIMITS.logLines + 500;
        await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
          SELECT ${job.id}, i, now(), 'target', '"line ' || i || '"' FROM generate_series(0, ${lines - 1}) i`
          .execute(db);
        await webhooks.jobChanged(job.id, 5, 1);
        // Stored without the log: what is kept per callback is small.
        const stored = await db.selectFrom("webhook_deliveries").select("body").execute();
        assertEquals(stored.length, 1);
        assert(stored[0].body.length < 10_000, `a delivery row of ${stored[0].body.length} bytes`);
        await eventually("the refused delivery was retried", () => hook.received.length === 2, 20_000);
        const body = JSON.parse(hook.received[1].text);
        assertEquals(body.log.split("\n").length - 1, NOTIFY_LIMITS.logLines);
        assertEquals(body.log_truncated, true);
        assertEquals([body.status, body.status_string, body.state, body.health_string], [2, "complete", 5, "Complete"]);
        // Delivered: the row goes once the receiver's answer is in.
        const owed = () => db.selectFrom("webhook_deliveries").select("id").execute();
        await eventually("the delivery is forgotten once made", async () => (await owed()).length === 0);
      } finally {
        await webhooks.close();
        await hook.close();
      }
    },
  },
  {
    name: "callbacks go as LAVA's go: GET without a body by default, a form by default, at Running for `all`, " +
      "with the named token's secret in the header",
    async fn(fx) {
      const { db } = await fx.open();
      const dir = await Deno.makeTempDir();
      const hook = receiver();
      const box = await SecretBox.open(`${dir}/secrets.key`);
      const webhooks = new Webhooks(db, quiet(), box);
      try {
        const user = await addUser(db, { username: "ci" });
        await addCallbackToken(db, box, user.id, "kernelci-callback", "s3cret-value");
        const definition = stringify({
          job_name: "callbacks",
          metadata: { "kernel.version": "6.1" },
          notify: {
            criteria: { status: "all" },
            callbacks: [
              { url: `${hook.url}/get/{ID}/{STATUS_STRING}/{NO_SUCH}` },
              { url: `${hook.url}/form`, method: "POST", token: "kernelci-callback", dataset: "results" },
              {
                url: `${hook.url}/json`,
                method: "POST",
                token: "not-a-token",
                header: "X-Token",
                "content-type": "json",
              },
            ],
          },
        });
        const job = await db.insertInto("test_jobs")
          .values({
            definition,
            submitter_id: user.id,
            state: 3,
            metadata: JSON.stringify({ "kernel.version": "6.1" }),
          })
          .returning("id").executeTakeFirstOrThrow();
        const suite = await db.insertInto("test_suites").values({ job_id: job.id, name: "0_smoke" })
          .returning("id").executeTakeFirstOrThrow();
        await db.insertInto("test_cases").values({ suite_id: suite.id, name: "answer", result: 0 }).execute();

        await webhooks.jobChanged(job.id, 3, 0);
        await eventually("the three callbacks at Running", () => hook.received.length === 3);
        const byPath = (path: string) => hook.received.find((r) => new URL(r.url).pathname === `/hook${path}`)!;
        const get = hook.received.find((r) => r.method === "GET")!;
        assertEquals(new URL(get.url).pathname, `/hook/get/${job.id}/running/%7BNO_SUCH%7D`);
        assertEquals(get.text, "");
        const form = byPath("/form");
        assertEquals(form.headers.get("content-type"), "application/x-www-form-urlencoded");
        assertEquals(form.headers.get("authorization"), "s3cret-value");
        const fields = new URLSearchParams(form.text);
        assertEquals(fields.get("token"), null, "the secret is not in the body, as current LAVA sends it");
        assertEquals([fields.get("state"), fields.get("status_string")], ["3", "running"]);
        assertEquals(fields.getAll("results"), ["0_smoke"], "a dict goes as its keys, as requests sends it");
        assertEquals(fields.getAll("metadata"), ["kernel.version"]);
        const json = JSON.parse(byPath("/json").text);
        assertEquals(byPath("/json").headers.get("x-token"), "not-a-token", "an unknown token is sent as written");
        assertEquals(json.actual_device_id, null);
        assertEquals(json.end_time, "None");
        assertEquals(json.definition, definition);
        assertEquals(json.metadata, [{ "kernel.version": "6.1" }]);

        // The secret is kept sealed in the delivery row, never as written.
        const rows = await db.selectFrom("webhook_deliveries").select(["token", "token_sealed"]).execute();
        assert(rows.every((r) => !r.token?.includes("s3cret")));

        await webhooks.jobChanged(job.id, 5, 1);
        await eventually("the three callbacks at the end", () => hook.received.length === 6);
        const results = hook.received.slice(3).find((r) => r.url.endsWith("/form"))!;
        assertEquals(new URLSearchParams(results.text).get("status"), "2");
      } finally {
        await webhooks.close();
        await hook.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  },
]);
