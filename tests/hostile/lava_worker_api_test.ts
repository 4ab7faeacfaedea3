/**
 * A hostile LAVA worker: this test speaks LAVA's HTTP worker API itself, with
 * the worker's real token and its job's real token, and sends what lava-worker
 * and lava-run never would — malformed and oversized log batches, gaps and
 * overlaps in the line index, hostile messages, states out of order, another
 * worker's and a stranger's requests. Each refusal is LAVA's status with a
 * reason; what was accepted is stored once and in order; the master stays up
 * and the job ends as its last real report says.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { qemuJob } from "../support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "../support/lab.ts";

const TOKEN = "hostile-lava-worker-token-012345";
const OTHER = "another-lava-worker-token-543210";

const record = (lvl: string, msg: unknown) => `- ${JSON.stringify({ dt: "2026-12-04T10:00:00.000001", lvl, msg })}`;

Deno.test("a LAVA worker's hostile requests are refused with LAVA's codes, and what it may store is stored once", async () => {
  const lab = await startTestLab();
  const base = `${lab.master.url}/scheduler/internal/v1`;
  const call = async (method: string, path: string, token?: string, form?: Record<string, string>) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: token === undefined ? {} : { "LAVA-Token": token },
      body: form ? new URLSearchParams(form) : undefined,
    });
    return { status: response.status, body: await response.json() };
  };
  try {
    await lab.addLavaWorker("lava-w1", TOKEN);
    await lab.addLavaWorker("lava-w2", OTHER);
    await lab.addDevice("qemu-lava", "qemu", "lava-w1", QEMU_DICTIONARY);
    // Both workers ping: Online, nothing to do yet.
    assertEquals(await call("GET", "/workers/lava-w1/?version=2023.01", TOKEN), {
      status: 200,
      body: { cancel: [], running: [], start: [] },
    });
    assertEquals((await call("GET", "/workers/lava-w2/?version=2023.01", OTHER)).status, 200);
    // The web UI says how each worker joins.
    const page = await (await fetch(`${lab.master.url}/workers/lava-w1`)).text();
    assertStringIncludes(page, "HTTP worker API (lava-worker and lava-run)");
    // A worker's token is its own.
    assertEquals((await call("GET", "/workers/lava-w1/?version=2023.01", OTHER)).body, { error: "Invalid 'token'" });

    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify({ ...qemuJob({ name: "hostile worker" }), context: { arch: "amd64" } }),
    });
    const id = submitted.body.job_ids[0];
    await waitForJob(lab, id, (d) => d.state === "Scheduled", 10_000);
    const ping = await call("GET", "/workers/lava-w1/?version=2023.01", TOKEN);
    const start = ping.body.start as { id: number; token: string }[];
    assertEquals(start.map((j) => String(j.id)), [id]);
    const jobToken = start[0].token;
    // The other worker is told nothing of it, and its token opens nothing of it.
    assertEquals((await call("GET", "/workers/lava-w2/?version=2023.01", OTHER)).body.start, []);
    assertEquals((await call("GET", `/jobs/${id}/`, OTHER)).body, { error: "Invalid 'token'" });
    assertEquals((await call("GET", `/jobs/${id}/`)).body, { error: "Missing 'token'" });

    const files = await call("GET", `/jobs/${id}/`, jobToken);
    assertEquals(Object.keys(files.body).sort(), ["definition", "device", "dispatcher", "env", "env-dut"]);
    assertStringIncludes(files.body.device, "qemu-system-x86_64");
    assertEquals((await call("POST", `/jobs/${id}/`, jobToken, { state: "RUNNING" })).status, 200);
    await waitForJob(lab, id, (d) => d.state === "Running", 10_000);

    const logs = (index: number, lines: string) =>
      call("POST", `/jobs/${id}/logs/`, jobToken, { index: String(index), lines });
    // Accepted: two lines, then the same two again with one more (a resend after a lost answer).
    assertEquals(await logs(0, [record("info", "one"), record("target", "two")].join("\n")), {
      status: 200,
      body: { line_count: 2 },
    });
    assertEquals(
      (await logs(0, [record("info", "one"), record("target", "two"), record("debug", "three")].join("\n")))
        .body,
      { line_count: 3 },
    );
    // Refused, each with its reason and nothing of it stored.
    const refusals: [string, Record<string, string>][] = [
      ["not YAML", { index: "3", lines: `${record("info", "ok")}\n- {"dt": [` }],
      ["not a log level", { index: "3", lines: record("shout", "x") }],
      ["dt must be a time", { index: "3", lines: '- {"lvl": "info", "msg": "no time"}' }],
      ["more than 1000 records", { index: "3", lines: Array(1001).fill(record("info", "x")).join("\n") }],
      ["Invalid 'index'", { index: "-1", lines: record("info", "x") }],
      ["Invalid 'index'", { index: "three", lines: record("info", "x") }],
      ["Missing 'index'", { lines: record("info", "x") }],
      ["Missing 'lines'", { index: "3" }],
      ["not YAML", { index: "3", lines: '- {"dt": "t", "lvl": "info", "msg": &a [1, 2], "b": *a}' }],
    ];
    for (const [reason, form] of refusals) {
      const refused = await call("POST", `/jobs/${id}/logs/`, jobToken, form);
      assertEquals(refused.status, 400, reason);
      assertStringIncludes(refused.body.error, reason);
    }
    // Accepted, stored as data: control characters, NUL, markup, a deep mapping, a very long line.
    const deep = JSON.parse("[".repeat(200) + '"deep"' + "]".repeat(200));
    const hostile = [
      record("target", "\u0000\u001b[2J<script>alert(1)</script>"),
      record("results", { definition: "lava", case: "x\u0000y", result: "pass" }),
      record("debug", deep),
      record("target", "y".repeat(500_000)),
    ];
    assertEquals((await logs(3, hostile.join("\n"))).body, { line_count: 4 });
    // States out of order or unknown.
    assertEquals((await call("POST", `/jobs/${id}/`, jobToken, { state: "SUBMITTED" })).body, {
      error: "Not handled state 'SUBMITTED'",
    });
    assertEquals((await call("POST", `/jobs/${id}/`, jobToken, { state: "FINISHED", result: "maybe" })).body, {
      error: "Invalid health 'maybe'",
    });
    // The real end.
    assertEquals(
      (await call("POST", `/jobs/${id}/`, jobToken, {
        state: "FINISHED",
        result: "fail",
        error_type: "Infrastructure",
        errors: "lava-run's stderr\n",
        description: "pipeline: []\n",
      })).status,
      200,
    );
    const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 10_000);
    assertEquals(finished.health, "Incomplete");
    // A late report of the ended job is taken and changes nothing; its files are gone.
    assertEquals((await call("POST", `/jobs/${id}/`, jobToken, { state: "FINISHED", result: "pass" })).status, 200);
    assertEquals((await call("GET", `/jobs/${id}/`, jobToken)).status, 404);
    const shown = await lab.api<{ health: string; error_type: string; error_msg: string }>("GET", `/api/v1/jobs/${id}`);
    assertEquals([shown.body.health, shown.body.error_type, shown.body.error_msg], [
      "Incomplete",
      "Infrastructure",
      "lava-run's stderr",
    ]);
    const stored = await lab.api<{ lines: { line: number; msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
    assertEquals(stored.body.lines.map((l) => l.line), [0, 1, 2, 3, 4, 5, 6]);
    assertEquals(stored.body.lines.slice(0, 3).map((l) => l.msg), ["one", "two", "three"]);
    assert(String(stored.body.lines[3].msg).includes("<script>"));
    // Registration, as lava-worker does it without a token: from this machine only, once per name.
    const registered = await call("POST", "/workers/", undefined, { name: "auto-1" });
    assertEquals([registered.status, registered.body.name], [200, "auto-1"]);
    assertEquals((await call("GET", "/workers/auto-1/?version=2023.01", registered.body.token)).status, 200);
    assertEquals((await call("POST", "/workers/", undefined, { name: "auto-1" })).body, {
      error: "Worker 'auto-1' already registered",
    });
    assertEquals((await call("POST", "/workers/", undefined, { name: "lava-w1" })).status, 403);
    assertEquals((await call("POST", "/workers/", undefined, { name: "../etc" })).body, { error: "Invalid 'name'" });
    assertEquals((await call("POST", "/workers/", undefined, {})).body, { error: "Missing 'name'" });
    assertEquals(
      (await call("POST", "/workers/", undefined, { name: "auto-2", username: "admin", password: "wrong" })).body,
      { error: "Unknown user admin" },
    );
    // Through a proxy on this machine, a request is not this machine's.
    const proxied = await fetch(`${base}/workers/`, {
      method: "POST",
      headers: { "X-Forwarded-For": "203.0.113.9" },
      body: new URLSearchParams({ name: "auto-3" }),
    });
    assertEquals([proxied.status, (await proxied.json()).error], [
      403,
      "Auto registration is forbidden for this address",
    ]);
    // The device is free again and the master answers.
    assertEquals((await lab.api("GET", "/api/v1/system/version")).status, 200);
  } finally {
    await lab.close();
  }
});
