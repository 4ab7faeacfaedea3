/**
 * Attacks on the master's HTTP face, sent as an attacker sends them — raw bytes
 * on a socket to a real master: bodies that never end, streams that are never
 * read, sessions that outlive their token, parameters that are not numbers.
 * One lab serves every case.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { startTestLab, type TestLab } from "../support/lab.ts";
import { startLogSource } from "../support/log_source.ts";
import { rawRequest, repeatedChunks, stalledClient } from "../support/raw_http.ts";
import { addUser, issueToken } from "../../master/storage/users.ts";
import { webLogin } from "../support/web_login.ts";
import { sql } from "kysely";
import { LOG_PAGE_LINES } from "../../master/views/logs.ts";
import { parseMethodResponse, serializeMethodCall } from "../../master/http/xmlrpc.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

async function whoami(lab: TestLab, cookie: string): Promise<string | null> {
  const response = await fetch(`${lab.master.url}/api/v1/system/whoami`, { headers: { Cookie: cookie } });
  return ((await response.json()) as { user: string | null }).user;
}

/** Publishes about `bytes` of lab events of a kind every subscriber sees. */
function floodEvents(lab: TestLab, bytes: number): void {
  const filler = "x".repeat(64 * KiB);
  for (let sent = 0; sent < bytes; sent += filler.length) {
    lab.master.lab.events.publish("worker", "", { worker: "flood", filler });
  }
}

Deno.test("the master's HTTP layer withstands hostile clients", async (t) => {
  const lab = await startTestLab();
  const url = lab.master.url;
  try {
    await t.step("a chunked body to /RPC2 without a user stops being read at 64 KiB and gets 413", async () => {
      const response = await rawRequest(
        url,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked",
        repeatedChunks(256, 64 * KiB),
        { chunked: true },
      );
      assertEquals(response.status, 413, response.head);
      assert(response.sent < 8 * MiB, `the master read ${response.sent} bytes of a body it should have refused`);
    });

    await t.step("a chunked body over 8 MiB to /RPC2 with a user gets 413", async () => {
      const auth = btoa(`admin:${lab.token}`);
      const response = await rawRequest(
        url,
        `POST /RPC2 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nTransfer-Encoding: chunked`,
        repeatedChunks(24 * 16, 64 * KiB),
        { chunked: true, timeoutMs: 30_000 },
      );
      assertEquals(response.status, 413, response.head);
    });

    await t.step("a declared Content-Length over the limit is refused before the body is read", async () => {
      const response = await rawRequest(
        url,
        `POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * MiB}`,
        repeatedChunks(16, 64 * KiB),
      );
      assertEquals(response.status, 413, response.head);
    });

    await t.step("a chunked JSON body over 8 MiB to /api/v1/jobs gets 413", async () => {
      const response = await rawRequest(
        url,
        `POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Token ${lab.token}\r\n` +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked",
        repeatedChunks(24 * 16, 64 * KiB, 0x20),
        { chunked: true, timeoutMs: 30_000 },
      );
      assertEquals(response.status, 413, response.head);
    });

    await t.step("a login body over 4 KiB gets 413, chunked or not", async () => {
      const form = `username=admin&token=${"a".repeat(MiB)}`;
      const plain = await fetch(`${url}/web/login`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: form,
      });
      await plain.body?.cancel();
      assertEquals(plain.status, 413);
      const chunked = await rawRequest(
        url,
        "POST /web/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
          "Transfer-Encoding: chunked",
        repeatedChunks(256, 64 * KiB, 0x61),
        { chunked: true },
      );
      assertEquals(chunked.status, 413, chunked.head);
    });

    await t.step("a device dictionary over 1 MiB gets 413", async () => {
      const response = await fetch(`${url}/api/v1/devices/nosuch/dictionary`, {
        method: "PUT",
        headers: { Authorization: `Token ${lab.token}` },
        body: "#".repeat(2 * MiB),
      });
      await response.body?.cancel();
      assertEquals(response.status, 413);
    });

    await t.step("query parameters that are not numbers get 400 naming the parameter", async () => {
      const cases = [
        "/api/v1/jobs?offset=abc",
        "/api/v1/jobs?limit=-1",
        "/api/v1/jobs?limit=1e3",
        "/api/v1/jobs/1/logs?start=abc",
        "/api/v1/jobs/1/logs?end=x",
        "/api/v1/jobs/1/logs?levels=target&offset=abc",
        "/api/v1/jobs/1/logs?levels=target&limit=NaN",
        "/api/v1/jobs/1/logs/stream?start=-5",
        "/api/v1/actors/device/x/history?after=abc",
        "/jobs?page=abc",
        "/jobs?page=0",
      ];
      // A job to point at, so that the parameter, not the id, is what is wrong.
      const source = await startLogSource(lab, "params");
      for (const path of cases) {
        const fixed = path.replace("/jobs/1/", `/jobs/${source.job}/`);
        const response = await fetch(`${url}${fixed}`, { headers: { Authorization: `Token ${lab.token}` } });
        const text = await response.text();
        assertEquals(response.status, 400, `${fixed}: ${text.slice(0, 200)}`);
        const name = /[?&](\w+)=[^&]*$/.exec(fixed)![1];
        assertStringIncludes(text, name, fixed);
      }
      const ok = await lab.api("GET", `/api/v1/jobs?offset=0&limit=5`);
      assertEquals(ok.status, 200);
    });

    await t.step("logging in needs the login form's CSRF token", async () => {
      const response = await fetch(`${url}/web/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ username: "admin", token: lab.token }),
      });
      await response.body?.cancel();
      assertEquals(response.status, 403);
      assert(!response.headers.get("Set-Cookie")?.includes("basalt_session="), "a session was opened");
    });

    await t.step("the session cookie is HttpOnly and SameSite=Strict", async () => {
      const { setCookie } = await webLogin(lab.master.url, "admin", lab.token);
      assertStringIncludes(setCookie, "HttpOnly");
      assertStringIncludes(setCookie, "SameSite=Strict");
    });

    await t.step("a session ends when its token is deleted", async () => {
      const db = lab.master.storage.db;
      const { token, id } = await issueToken(db, "admin", "short-lived");
      const { cookie } = await webLogin(lab.master.url, "admin", token);
      assertEquals(await whoami(lab, cookie), "admin");
      await db.deleteFrom("api_tokens").where("id", "=", id).execute();
      assertEquals(await whoami(lab, cookie), null);
    });

    await t.step("a session loses its rights when its user is demoted or deactivated", async () => {
      const db = lab.master.storage.db;
      await addUser(db, { username: "carol", superuser: true });
      const { token } = await issueToken(db, "carol");
      const { cookie, csrf } = await webLogin(lab.master.url, "carol", token);
      const setHealth = () =>
        fetch(`${url}/api/v1/devices/params-dev/health`, {
          method: "POST",
          headers: { Cookie: cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json" },
          body: JSON.stringify({ health: "Maintenance" }),
        }).then(async (r) => (await r.body?.cancel(), r.status));
      assertEquals(await setHealth(), 200);
      await db.updateTable("users").set({ is_superuser: false }).where("username", "=", "carol").execute();
      assertEquals(await setHealth(), 403);
      await db.updateTable("users").set({ is_active: false }).where("username", "=", "carol").execute();
      assertEquals(await whoami(lab, cookie), null);
    });

    await t.step("an API token stops working as soon as it is deleted", async () => {
      const db = lab.master.storage.db;
      const { token, id } = await issueToken(db, "admin", "revoked");
      const call = () =>
        fetch(`${url}/api/v1/system/whoami`, { headers: { Authorization: `Token ${token}` } })
          .then(async (r) => (await r.body?.cancel(), r.status));
      assertEquals(await call(), 200);
      await db.deleteFrom("api_tokens").where("id", "=", id).execute();
      assertEquals(await call(), 401);
    });

    await t.step("an event stream client that stops reading is disconnected, not buffered for", async () => {
      const client = await stalledClient(url, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream");
      await new Promise((r) => setTimeout(r, 200));
      floodEvents(lab, 48 * MiB);
      const drained = await client.drain(10_000);
      assert(drained.closed, `the master kept the stalled stream open after ${drained.bytes} bytes`);
      assert(drained.bytes < 40 * MiB, `the master sent ${drained.bytes} bytes to a client that did not read`);
    });

    await t.step("a WebSocket client that stops reading is sent a close frame and nothing more", async () => {
      const client = await stalledClient(
        url,
        "GET /ws/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13",
      );
      await new Promise((r) => setTimeout(r, 200));
      floodEvents(lab, 48 * MiB);
      const drained = await client.drain(3_000);
      assertStringIncludes(drained.head, "101");
      // The last frame is a close frame with code 1008: after it the master sends nothing more. (It cannot drop the TCP
      // connection itself; the client's stream still counts against its share until it goes.)
      const reason = new TextEncoder().encode("the client does not keep up");
      const frame = [0x88, 2 + reason.byteLength, 0x03, 0xf0, ...reason];
      assertEquals([...drained.tail.slice(-frame.length)], frame, "the master's last bytes are not a close frame");
      assert(drained.bytes < 40 * MiB, `the master sent ${drained.bytes} bytes to a client that did not read`);
    });

    await t.step("a log stream client that stops reading is disconnected, not buffered for", async () => {
      const source = await startLogSource(lab, "flood");
      const client = await stalledClient(
        url,
        `GET /api/v1/jobs/${source.job}/logs/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream`,
      );
      await new Promise((r) => setTimeout(r, 200));
      const line = "y".repeat(16 * KiB);
      for (let i = 0; i < 48 * 4; i++) source.push(Array.from({ length: 16 }, () => line));
      const drained = await client.drain(15_000);
      assert(drained.closed, `the master kept the stalled log stream open after ${drained.bytes} bytes`);
      assert(drained.bytes < 40 * MiB, `the master sent ${drained.bytes} bytes to a client that did not read`);
      await source.flush();
    });

    await t.step("one address cannot hold more streams than its share", async () => {
      const clients = [];
      try {
        for (let i = 0; i < 257; i++) {
          clients.push(await stalledClient(url, "GET /api/v1/events HTTP/1.1\r\nHost: x"));
        }
        const last = await rawRequest(url, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close");
        assertEquals(last.status, 429, last.head);
      } finally {
        for (const client of clients) client.close();
      }
    });

    await t.step(
      "a log longer than a page goes to XML-RPC clients a page at a time, as lavacli follows it",
      async () => {
        const db = lab.master.storage.db;
        const user = await db.selectFrom("users").select("id").where("username", "=", "admin")
          .executeTakeFirstOrThrow();
        const job = await db.insertInto("test_jobs").values({
          definition: "job_name: long\n",
          submitter_id: user.id,
          state: 5,
          health: 1,
        }).returning("id").executeTakeFirstOrThrow();
        await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
        SELECT ${job.id}, i, now(), 'target', '"l"' FROM generate_series(0, ${LOG_PAGE_LINES + 9}) i`.execute(db);
        const logs = async (start: number) => {
          const response = await fetch(`${url}/RPC2`, {
            method: "POST",
            body: serializeMethodCall("scheduler.jobs.logs", [job.id, start]),
          });
          const answer = parseMethodResponse(await response.text());
          if (answer.kind !== "value") throw new Error(JSON.stringify(answer));
          const [finished, yaml] = answer.value as [boolean, string];
          return { finished, lines: yaml.split("\n").filter((l) => l.startsWith("- ")).length };
        };
        assertEquals(await logs(0), { finished: false, lines: LOG_PAGE_LINES });
        assertEquals(await logs(LOG_PAGE_LINES), { finished: true, lines: 10 });
      },
    );

    await t.step("after all this the master still serves", async () => {
      const response = await lab.api("GET", "/api/v1/system/version");
      assertEquals(response.status, 200);
    });
  } finally {
    await lab.close();
  }
});
