/**
 * Who may see what, asked the way another user would ask: bob (an ordinary user) goes after alice's personal and
 * group jobs and after devices he has no right to see, through the web forms, XML-RPC, the JSON API, server-sent
 * events, the WebSocket and a real ZeroMQ SUB socket. Alice and an administrator still see what is theirs to see.
 * One lab serves every case; jobs stay queued, or run on workers that exist only as their messages.
 */
import { stringify } from "yaml";
import { Option, SocketType } from "../../actors/transport/zmq/ffi.ts";
import { ZmqReactor } from "../../actors/transport/zmq/reactor.ts";
import { parseMethodResponse, serializeMethodCall, type XmlRpcInput } from "../../master/http/xmlrpc.ts";
import { addUser, issueToken } from "../../master/storage/users.ts";
import { qemuJobFor } from "../../ops/dut_jobs.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab, waitForJob } from "../support/lab.ts";
import { webLogin, type WebSession } from "../support/web_login.ts";
import { eventually } from "../support/wait.ts";

interface Caller {
  readonly name: string;
  readonly token: string;
}

const ANONYMOUS: Caller = { name: "", token: "" };

function authHeaders(caller: Caller): Record<string, string> {
  return caller.token ? { Authorization: `Token ${caller.token}` } : {};
}

async function get(lab: TestLab, caller: Caller, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${lab.master.url}${path}`, { headers: authHeaders(caller) });
  return { status: response.status, text: await response.text() };
}

async function getJson<T>(lab: TestLab, caller: Caller, path: string): Promise<{ status: number; body: T }> {
  const { status, text } = await get(lab, caller, path);
  return { status, body: JSON.parse(text) as T };
}

async function post(lab: TestLab, caller: Caller, path: string, body?: unknown) {
  const response = await fetch(`${lab.master.url}${path}`, {
    method: "POST",
    headers: { ...authHeaders(caller), "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

async function rpc(lab: TestLab, caller: Caller, method: string, ...params: XmlRpcInput[]) {
  const response = await fetch(`${lab.master.url}/RPC2`, {
    method: "POST",
    headers: {
      "Content-Type": "text/xml",
      ...(caller.token ? { Authorization: `Basic ${btoa(`${caller.name}:${caller.token}`)}` } : {}),
    },
    body: serializeMethodCall(method, params),
  });
  return parseMethodResponse(await response.text());
}

/** A web form post as a logged-in browser sends it; the status, without following the redirect. */
async function webPost(lab: TestLab, session: WebSession, path: string): Promise<number> {
  const response = await fetch(`${lab.master.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: session.cookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf: session.csrf }),
  });
  await response.body?.cancel();
  return response.status;
}

function definition(name: string, visibility: unknown, secrets?: Record<string, string>): string {
  const job = qemuJobFor((file) => `/nonexistent/${file}`, { name });
  return stringify({ ...job, visibility, ...(secrets ? { secrets } : {}) });
}

async function submit(lab: TestLab, caller: Caller, text: string): Promise<string> {
  const { status, body } = await post(lab, caller, "/api/v1/jobs", { definition: text });
  assertEquals(status, 201, JSON.stringify(body));
  return (body.job_ids as string[])[0];
}

async function jobsOf(lab: TestLab, username: string): Promise<number> {
  const rows = await lab.master.storage.db.selectFrom("test_jobs as j").innerJoin(
    "users as u",
    "u.id",
    "j.submitter_id",
  )
    .select("j.id").where("u.username", "=", username).execute();
  return rows.length;
}

/** Everything a stream delivered so far, as text. */
interface Collector {
  text: string;
  close(): void | Promise<void>;
}

async function sse(lab: TestLab, caller: Caller): Promise<Collector> {
  const abort = new AbortController();
  const response = await fetch(`${lab.master.url}/api/v1/events`, {
    headers: authHeaders(caller),
    signal: abort.signal,
  });
  assertEquals(response.status, 200);
  const collector: Collector = { text: "", close: () => abort.abort() };
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) collector.text += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  return collector;
}

async function websocket(lab: TestLab, caller: Caller): Promise<Collector> {
  const url = `${lab.master.url.replace("http", "ws")}/ws/`;
  const headers = caller.token ? { Authorization: `Basic ${btoa(`${caller.name}:${caller.token}`)}` } : {};
  const socket = new WebSocket(url, { headers } as unknown as string[]);
  const collector: Collector = { text: "", close: () => socket.close() };
  socket.onmessage = (message) => collector.text += `${message.data}\n`;
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return collector;
}

/** An anonymous ZeroMQ subscriber, as `lavacli events wait` is. */
async function zmqSubscriber(lab: TestLab): Promise<Collector> {
  const reactor = new ZmqReactor();
  const decoder = new TextDecoder();
  const collector: Collector = { text: "", close: () => reactor.close() };
  await reactor.socket(SocketType.SUB, (socket) => {
    socket.connect(lab.master.events);
    socket.setBytes(Option.SUBSCRIBE, new Uint8Array());
  }, (message) => collector.text += message.frames.map((f) => decoder.decode(f)).join(" ") + "\n");
  return collector;
}

/** Publishes an event every subscriber may see until each stream has it: everything before it has been decided. */
async function marker(lab: TestLab, name: string, streams: Collector[]) {
  await eventually(`${name} on every stream`, () => {
    lab.master.lab.events.publish("worker", "lavaserver", { hostname: name, state: "Online", health: "Active" });
    return streams.every((s) => s.text.includes(name));
  });
}

Deno.test("private jobs and non-public devices stay hidden from those who may not see them", async (t) => {
  const lab = await startTestLab();
  const db = lab.master.storage.db;
  const master = lab.master.lab;
  const cleanups: (() => void | Promise<void>)[] = [];
  try {
    const users: Record<string, Caller> = {};
    for (const name of ["alice", "bob"]) {
      await addUser(db, { username: name });
      users[name] = { name, token: (await issueToken(db, name)).token };
    }
    const { alice, bob } = users;
    const admin: Caller = { name: "admin", token: lab.token };
    const ids = new Map<string, number>();
    for (const group of ["lab-a", "lab-b"]) {
      ids.set(
        group,
        (await db.insertInto("groups").values({ name: group }).returning("id").executeTakeFirstOrThrow()).id,
      );
    }
    const userId = async (name: string) =>
      (await db.selectFrom("users").select("id").where("username", "=", name).executeTakeFirstOrThrow()).id;
    await db.insertInto("user_groups").values([
      { user_id: await userId("alice"), group_id: ids.get("lab-a")! },
      { user_id: await userId("alice"), group_id: ids.get("lab-b")! },
      { user_id: await userId("bob"), group_id: ids.get("lab-a")! },
    ]).execute();

    // Workers that are only their messages: a job scheduled on one of their devices is started by the test.
    const scope = { journal: (work: (tx: never) => void | Promise<void>) => void work(db as never) };
    const online = (worker: string) =>
      master.peerEvent({ type: "online", peer: worker, summary: { version: "test", jobLimit: 0, running: [] } });

    // pub01, public, runs alice's personal job.
    await lab.addWorker("wv", { start: false });
    await lab.addDevice("pub01", "qemu", "wv", QEMU_DICTIONARY);
    online("wv");
    const running = await submit(lab, alice, definition("alice-private-running", "personal"));
    await waitForJob(lab, running, (d) => d.state === "Scheduled" && d.device === "pub01", 10_000);
    master.deliver({ peer: "wv", to: `job/${running}`, kind: "job.started", body: { job: running } }, scope);
    await waitForJob(lab, running, (d) => d.state === "Running", 10_000);

    // hidden01, not public, holds an administrator's public job.
    await lab.addWorker("wh", { start: false });
    await lab.addDevice("hidden01", "qemu", "wh", QEMU_DICTIONARY);
    await db.updateTable("devices").set({ is_public: false }).where("hostname", "=", "hidden01").execute();
    online("wh");
    const onHidden = await submit(lab, admin, definition("admin-on-hidden", "public"));
    await waitForJob(lab, onHidden, (d) => d.state === "Scheduled" && d.device === "hidden01", 10_000);
    await eventually(
      "the job's device stored",
      async () =>
        (await db.selectFrom("test_jobs").select("actual_device").where("id", "=", Number(onHidden))
          .executeTakeFirstOrThrow()).actual_device === "hidden01",
    );

    // grp01, viewable by lab-b only, on a worker that never comes: jobs from here on stay queued.
    await lab.addWorker("wq", { start: false });
    await lab.addDevice("grp01", "qemu", "wq", QEMU_DICTIONARY);
    await db.insertInto("device_group_permissions")
      .values({ device_hostname: "grp01", group_id: ids.get("lab-b")!, permission: "view" }).execute();

    const personal = await submit(
      lab,
      alice,
      definition("alice-personal-queued", "personal", { API_KEY: "alice-key-123" }),
    );
    const groupA = await submit(
      lab,
      alice,
      definition("alice-group-a", { group: ["lab-a"] }, { TOKEN: "group-secret-456" }),
    );
    const groupAB = await submit(lab, alice, definition("alice-group-ab", { group: ["lab-a", "lab-b"] }));
    const bobWeb = await webLogin(lab.master.url, "bob", bob.token);
    const aliceWeb = await webLogin(lab.master.url, "alice", alice.token);

    await t.step("bob cannot resubmit alice's personal job through the web, XML-RPC or REST; alice can", async () => {
      assertEquals(await webPost(lab, bobWeb, `/web/jobs/${personal}/resubmit`), 404);
      const fault = await rpc(lab, bob, "scheduler.jobs.resubmit", personal);
      assertEquals(fault.kind === "fault" ? fault.code : fault, 404);
      assertEquals((await post(lab, bob, `/api/v1/jobs/${personal}/resubmit`)).status, 404);
      assertEquals(await jobsOf(lab, "bob"), 0, "bob got a copy of alice's job");
      assertEquals(await webPost(lab, aliceWeb, `/web/jobs/${personal}/resubmit`), 303);
    });

    await t.step(
      "a group job's secrets are masked for a member who did not submit it, who cannot resubmit it",
      async () => {
        const shown = await get(lab, bob, `/api/v1/jobs/${groupA}/definition`);
        assertEquals(shown.status, 200);
        assert(!shown.text.includes("group-secret-456"), shown.text);
        assertStringIncludes(shown.text, 'TOKEN: "[MASKED]"');
        const viaRpc = await rpc(lab, bob, "scheduler.jobs.definition", groupA);
        assert(viaRpc.kind === "value" && !String(viaRpc.value).includes("group-secret-456"), JSON.stringify(viaRpc));
        const page = await get(lab, bob, `/jobs/${groupA}`);
        assertEquals(page.status, 200);
        assert(!page.text.includes("group-secret-456"), "the job page shows the secret");
        assertEquals(await webPost(lab, bobWeb, `/web/jobs/${groupA}/resubmit`), 403);
        const fault = await rpc(lab, bob, "scheduler.jobs.resubmit", groupA);
        assertEquals(fault.kind === "fault" ? fault.code : fault, 403);
        assertEquals((await post(lab, bob, `/api/v1/jobs/${groupA}/resubmit`)).status, 403);
        assertEquals(await jobsOf(lab, "bob"), 0);
        for (const owner of [alice, admin]) {
          assertStringIncludes((await get(lab, owner, `/api/v1/jobs/${groupA}/definition`)).text, "group-secret-456");
        }
        // LAVA: with more than one group, a viewer must be in all of them.
        assertEquals((await get(lab, bob, `/api/v1/jobs/${groupAB}`)).status, 404);
        assertEquals((await get(lab, alice, `/api/v1/jobs/${groupAB}`)).status, 200);
      },
    );

    await t.step("scheduler.jobs.queue lists only the queued jobs the caller may see", async () => {
      const queued = async (caller: Caller) => {
        const response = await rpc(lab, caller, "scheduler.jobs.queue", null, 0, 100);
        assert(response.kind === "value", JSON.stringify(response));
        return (response.value as { id: unknown }[]).map((j) => String(j.id)).sort();
      };
      const everyone = await queued(admin);
      for (const id of [personal, groupA, groupAB]) assert(everyone.includes(id), `${id} not queued: ${everyone}`);
      const forBob = await queued(bob);
      assert(!forBob.includes(personal) && !forBob.includes(groupAB), `bob sees ${forBob}`);
      assert(forBob.includes(groupA), "bob no longer sees the job his group may see");
      const forAnyone = await queued(ANONYMOUS);
      assert(![personal, groupA, groupAB].some((id) => forAnyone.includes(id)), `anonymous sees ${forAnyone}`);
      const forAlice = await queued(alice);
      for (const id of [personal, groupA, groupAB]) assert(forAlice.includes(id), `alice misses ${id}`);
    });

    await t.step("a device running alice's personal job shows bob that it is busy, not the job", async () => {
      const shown = await getJson<{ current_job: number | null; state: string }>(lab, bob, "/api/v1/devices/pub01");
      assertEquals([shown.status, shown.body.current_job, shown.body.state], [200, null, "Running"]);
      const listed = await getJson<{ results: { hostname: string; current_job: number | null }[] }>(
        lab,
        bob,
        "/api/v1/devices",
      );
      assertEquals(listed.body.results.find((d) => d.hostname === "pub01")?.current_job, null);
      const viaRpc = await rpc(lab, bob, "scheduler.devices.show", "pub01");
      assert(viaRpc.kind === "value", JSON.stringify(viaRpc));
      assertEquals((viaRpc.value as { current_job: unknown }).current_job, null);
      const rpcList = await rpc(lab, bob, "scheduler.devices.list");
      assert(rpcList.kind === "value");
      assertEquals(
        (rpcList.value as { hostname: string; current_job: unknown }[])
          .find((d) => d.hostname === "pub01")?.current_job,
        null,
      );
      const page = await get(lab, bob, "/devices/pub01");
      assertEquals(page.status, 200);
      assert(!page.text.includes("alice-private-running"), "the device page shows alice's job");
      assert(!page.text.includes(`href="/jobs/${running}"`), "the device page links alice's job");
      assertStringIncludes(page.text, "busy");
      const overview = await get(lab, bob, "/");
      assert(!overview.text.includes(`"current_job":${running}`), "the overview names alice's job");
      for (const owner of [alice, admin]) {
        const own = await getJson<{ current_job: number | null }>(lab, owner, "/api/v1/devices/pub01");
        assertEquals(own.body.current_job, Number(running));
        assertStringIncludes((await get(lab, owner, "/devices/pub01")).text, "alice-private-running");
      }
    });

    await t.step("devices bob may not view do not exist for him, nor the jobs on them", async () => {
      const hostnames = async (caller: Caller) =>
        (await getJson<{ results: { hostname: string }[] }>(lab, caller, "/api/v1/devices")).body.results
          .map((d) => d.hostname).sort();
      assertEquals(await hostnames(bob), ["pub01"]);
      assertEquals(await hostnames(ANONYMOUS), ["pub01"]);
      assertEquals(await hostnames(alice), ["grp01", "pub01"]);
      assertEquals(await hostnames(admin), ["grp01", "hidden01", "pub01"]);
      for (
        const path of [
          "/api/v1/devices/hidden01",
          "/api/v1/devices/grp01",
          "/api/v1/devices/hidden01/dictionary",
          "/api/v1/actors/device/hidden01/history",
          "/devices/hidden01",
          "/machines/device/hidden01",
          `/api/v1/jobs/${onHidden}`,
        ]
      ) {
        assertEquals((await get(lab, bob, path)).status, 404, `bob: ${path}`);
      }
      for (const method of ["scheduler.devices.show", "scheduler.devices.get_dictionary"]) {
        const fault = await rpc(lab, bob, method, "hidden01");
        assertEquals(fault.kind === "fault" ? fault.code : fault, 404, method);
      }
      const rpcList = await rpc(lab, bob, "scheduler.devices.list");
      assert(rpcList.kind === "value" && !JSON.stringify(rpcList.value).includes("hidden01"));
      for (const path of ["/devices", "/workers/wh", "/device-types/qemu", "/"]) {
        assert(!(await get(lab, bob, path)).text.includes("hidden01"), `bob sees hidden01 on ${path}`);
      }
      const jobs = await getJson<{ results: { id: string }[] }>(lab, bob, "/api/v1/jobs?limit=100");
      assert(!jobs.body.results.some((j) => String(j.id) === onHidden), "bob lists the job on hidden01");
      assertEquals((await get(lab, alice, "/api/v1/devices/grp01")).status, 200);
      assertEquals((await get(lab, alice, "/devices/grp01")).status, 200);
      assertEquals((await get(lab, admin, "/api/v1/devices/hidden01")).status, 200);
      assertEquals((await get(lab, admin, `/api/v1/jobs/${onHidden}`)).status, 200);
    });

    await t.step("events reach only those who may see them: SSE, WebSocket and ZeroMQ", async () => {
      const streams = {
        bobSse: await sse(lab, bob),
        anonymousSse: await sse(lab, ANONYMOUS),
        aliceSse: await sse(lab, alice),
        bobWs: await websocket(lab, bob),
        adminWs: await websocket(lab, admin),
        zmq: await zmqSubscriber(lab),
      };
      for (const stream of Object.values(streams)) cleanups.push(() => stream.close());
      await marker(lab, "marker-before", Object.values(streams));
      await submit(lab, alice, definition("alice-stream-secret", "personal"));
      master.deliver({
        peer: "wv",
        to: `job/${running}`,
        kind: "job.log",
        body: {
          job: running,
          from: 0,
          lines: [{ dt: new Date().toISOString(), lvl: "event", msg: "alice-event-secret" }],
        },
      }, scope);
      assertEquals((await post(lab, admin, "/api/v1/devices/grp01/health", { health: "Maintenance" })).status, 200);
      await marker(lab, "marker-after", Object.values(streams));
      const secrets = ["alice-stream-secret", "alice-event-secret", "grp01"];
      for (const [name, stream] of Object.entries(streams)) {
        const mayKnow = name === "aliceSse" || name === "adminWs";
        for (const secret of secrets) {
          assertEquals(stream.text.includes(secret), mayKnow, `${name} ${mayKnow ? "misses" : "got"} ${secret}`);
        }
      }
    });
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await lab.close();
  }
});
