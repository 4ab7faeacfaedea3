/**
 * The master with real workers in this process and the real QEMU device:
 * submit → Running → Finished with results and logs; cancel while running;
 * health checks; maintenance; priorities and tags; MultiNode all-or-nothing and
 * cancelled as a whole.
 */
import { parse, stringify } from "yaml";
import { LAVA_EXAMPLES, testWithExamples } from "./support/lava_examples.ts";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { Coordinator } from "../coordinator/server.ts";
import { GroupStore } from "../coordinator/store.ts";
import { createLogger } from "../actors/runtime/log.ts";

Deno.test("a submitted job runs on the QEMU device and its results and log are stored", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const job = qemuJob({
      tests: [inlineTest("smoke", ["lava-test-case answer --result pass --measurement 42 --units things"])],
    });
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
    assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
    const [id] = submitted.body.job_ids;
    await waitForJob(lab, id, (d) => d.state === "Running", 30_000);
    const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 120_000);
    assertEquals(finished.health, "Complete");
    const shown = await lab.api<Record<string, unknown>>("GET", `/api/v1/jobs/${id}`);
    assertEquals([shown.body.state, shown.body.health, shown.body.device], ["Finished", "Complete", "qemu01"]);
    const results = await lab.api<{ results: Record<string, string>[] }>("GET", `/api/v1/jobs/${id}/results`);
    const answer = results.body.results.find((r) => r.name === "answer");
    assertEquals([answer?.suite, answer?.result, answer?.measurement, answer?.unit], [
      "0_smoke",
      "pass",
      "42",
      "things",
    ]);
    assert(results.body.results.some((r) => r.suite === "lava" && r.name === "job" && r.result === "pass"));
    const logs = await lab.api<{ lines: { line: number; lvl: string; msg: unknown }[] }>(
      "GET",
      `/api/v1/jobs/${id}/logs`,
    );
    assertEquals(logs.body.lines.map((l) => l.line), logs.body.lines.map((_, i) => i), "every line once, in order");
    assert(logs.body.lines.some((l) => l.lvl === "target" && String(l.msg).includes("Linux version")));
    const from = await lab.api<{ lines: { line: number }[] }>("GET", `/api/v1/jobs/${id}/logs?start=10`);
    assertEquals(from.body.lines[0].line, 10);
    const device = await lab.api<Record<string, unknown>>("GET", "/api/v1/devices/qemu01");
    assertEquals([device.body.state, device.body.health], ["Idle", "Good"]);
    const csv = await fetch(`${lab.master.url}/results/${id}/csv`).then((r) => r.text());
    assertStringIncludes(csv.split("\r\n")[0], "job,suite,result,measurement,unit");
    const metrics = await fetch(`${lab.master.url}/metrics`).then((r) => r.text());
    assertStringIncludes(metrics, 'basalt_devices{state="Idle",health="Good"} 1');
    assertStringIncludes(metrics, 'basalt_workers{state="Online",health="Active"} 1');
    assert(/basalt_log_lines_total [1-9]\d*/.test(metrics), metrics);
    assert(/basalt_mailbox_delivered_total [1-9]/.test(metrics), metrics);
    assertStringIncludes(metrics, "basalt_scheduling_pass_seconds_count");
  } finally {
    await lab.close();
  }
});

/** A job that fails at once (its kernel does not exist): for tests about order, not devices. */
function quickJob(name: string, extra: Record<string, unknown> = {}): string {
  const job = qemuJob({ name });
  const deploy = (job.actions as Record<string, Record<string, unknown>>[])[0].deploy;
  (deploy.images as Record<string, Record<string, unknown>>).kernel.url = "file:///nonexistent/basalt-kernel";
  return stringify({ ...job, ...extra });
}

async function submit(lab: Awaited<ReturnType<typeof startTestLab>>, definition: string): Promise<string[]> {
  const response = await lab.api<{ job_ids: string[]; error?: string }>("POST", "/api/v1/jobs", { definition });
  assertEquals(response.status, 201, JSON.stringify(response.body));
  return response.body.job_ids;
}

Deno.test("cancelling a running job stops it on the worker and frees the device", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const [id] = await submit(lab, stringify(qemuJob({ tests: [inlineTest("forever", ["sleep 600"])] })));
    await waitForJob(lab, id, (d) => d.state === "Running", 30_000);
    const finished = waitForJob(lab, id, (d) => d.state === "Finished", 60_000);
    assertEquals((await lab.api("POST", `/api/v1/jobs/${id}/cancel`)).status, 200);
    assertEquals((await finished).health, "Canceled");
    await lab.master.lab.settled();
    const device = await lab.api<Record<string, unknown>>("GET", "/api/v1/devices/qemu01");
    assertEquals([device.body.state, device.body.health], ["Idle", "Good"]);
  } finally {
    await lab.close();
  }
});

Deno.test("a new device's first passing health check is its only one: the next pass sees it on record", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    lab.master.lab.labDir.setHealthCheck("qemu", stringify(qemuJob({ name: "first health check" })));
    const good = new Promise<void>((resolve) => {
      const stop = lab.master.lab.events.subscribe((e) => {
        if (e.kind === "device" && e.data.health === "Good") resolve(stop() as unknown as void);
      });
    });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY, { health: "Unknown" });
    await good;
    await lab.master.lab.settled();
    const jobs = await lab.api<{ results: Record<string, unknown>[] }>("GET", "/api/v1/jobs");
    assertEquals(jobs.body.results.map((j) => [j.health_check, j.health]), [[true, "Complete"]]);
  } finally {
    await lab.close();
  }
});

Deno.test("a failing health check sets the device Bad and a passing one sets it Good", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    lab.master.lab.labDir.setHealthCheck("qemu", quickJob("failing health check"));
    const bad = new Promise<void>((resolve) => {
      const stop = lab.master.lab.events.subscribe((e) => {
        if (e.kind === "device" && e.data.health === "Bad") resolve(stop() as unknown as void);
      });
    });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY, { health: "Unknown" });
    await bad;
    const after = await lab.api<Record<string, unknown>>("GET", "/api/v1/devices/qemu01");
    assertEquals(after.body.health, "Bad");
    assertStringIncludes(String(after.body.health_reason), "health check");
    const jobs = await lab.api<{ results: Record<string, unknown>[] }>("GET", "/api/v1/jobs");
    assertEquals(jobs.body.results.map((j) => [j.health_check, j.submitter, j.health]), [[
      true,
      "lava-health",
      "Incomplete",
    ]]);
    // A Bad device runs nothing until an admin acts; then its health check runs again.
    lab.master.lab.labDir.setHealthCheck("qemu", stringify(qemuJob({ name: "passing health check" })));
    const good = new Promise<void>((resolve) => {
      const stop = lab.master.lab.events.subscribe((e) => {
        if (e.kind === "device" && e.data.health === "Good") resolve(stop() as unknown as void);
      });
    });
    assertEquals((await lab.api("POST", "/api/v1/devices/qemu01/health", { health: "Unknown" })).status, 200);
    await good;
    const checks = await lab.api<{ results: Record<string, unknown>[] }>("GET", "/api/v1/jobs");
    assertEquals(checks.body.results[0].health, "Complete");
  } finally {
    await lab.close();
  }
});

/** LAVA's docker example on the qemu device type: valid, and using methods Basalt's dispatcher does not run. */
function dockerJob(): string {
  const job = parse(Deno.readTextFileSync(`${LAVA_EXAMPLES}jobs/docker-simple.yaml`)) as Record<string, unknown>;
  return stringify({ ...job, device_type: "qemu" });
}

testWithExamples(
  "a job using a method no worker runs is refused naming it; such a health check leaves health alone",
  async () => {
    const lab = await startTestLab();
    try {
      const online = new Promise<void>((resolve) => {
        const stop = lab.master.lab.events.subscribe((e) => {
          if (e.kind === "worker" && e.data.state === "Online") resolve(stop() as unknown as void);
        });
      });
      await lab.addWorker("w1");
      await online;
      lab.master.lab.labDir.setHealthCheck("qemu", dockerJob());
      await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY, { health: "Unknown" });
      const refused = await lab.api<{ error: string }>("POST", "/api/v1/jobs", { definition: dockerJob() });
      assertEquals(refused.status, 400, JSON.stringify(refused.body));
      assertStringIncludes(refused.body.error, "no worker runs deploy to docker, boot method docker");
      assertStringIncludes(refused.body.error, "qemu");
      // The device still takes what its worker runs; the health check it cannot run never starts.
      const [id] = await submit(lab, quickJob("runs where the health check cannot"));
      await waitForJob(lab, id, (d) => d.state === "Finished", 30_000);
      const device = await lab.api<Record<string, unknown>>("GET", "/api/v1/devices/qemu01");
      assertEquals(device.body.health, "Unknown");
      const jobs = await lab.api<{ results: Record<string, unknown>[] }>("GET", "/api/v1/jobs");
      assertEquals(jobs.body.results.map((j) => j.health_check), [false]);
    } finally {
      await lab.close();
    }
  },
);

Deno.test("a device in maintenance gets no jobs until it is back in service", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY, { health: "Maintenance" });
    const [id] = await submit(lab, quickJob("waits for maintenance"));
    await lab.master.lab.settled();
    await new Promise((r) => setTimeout(r, 500));
    assertEquals((await lab.api<Record<string, unknown>>("GET", `/api/v1/jobs/${id}`)).body.state, "Submitted");
    const running = waitForJob(lab, id, (d) => d.state === "Scheduled", 10_000);
    await lab.api("POST", "/api/v1/devices/qemu01/health", { health: "Good" });
    assertEquals((await running).device, "qemu01");
  } finally {
    await lab.close();
  }
});

Deno.test("the queue runs higher priorities first and a job's tags choose its device", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const rejected = await lab.api<{ error: string }>("POST", "/api/v1/jobs", {
      definition: quickJob("tagged", { tags: ["big"] }),
    });
    assertEquals(rejected.status, 400);
    assertStringIncludes(rejected.body.error, "with tags big");
    const order: string[] = [];
    lab.master.lab.events.subscribe((e) => {
      if (e.kind === "testjob" && e.data.state === "Scheduled") order.push(String(e.data.description));
    });
    const [low] = await submit(lab, quickJob("low", { priority: "low" }));
    const [high] = await submit(lab, quickJob("high", { priority: 90 }));
    const [medium] = await submit(lab, quickJob("medium"));
    await lab.addDevice("qemu02", "qemu", "w1", QEMU_DICTIONARY, { tags: ["big"], health: "Maintenance" });
    const done = Promise.all(
      [low, high, medium].map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 60_000)),
    );
    await lab.startWorker("w1");
    await done;
    assertEquals(order, ["high", "medium", "low"]);
    await lab.api("POST", "/api/v1/devices/qemu02/health", { health: "Good" });
    const [tagged] = await submit(lab, quickJob("tagged", { tags: ["big"] }));
    assertEquals((await waitForJob(lab, tagged, (d) => d.state === "Scheduled", 10_000)).device, "qemu02");
  } finally {
    await lab.close();
  }
});

Deno.test("a MultiNode group never holds a device while it cannot be complete, and runs whole when it can", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "basalt-coordinator-" });
  const coordinator = Coordinator.start({
    hostname: "127.0.0.1",
    port: 0,
    store: GroupStore.open(stateDir),
    logger: createLogger({ process: "coordinator", level: "error" }),
    expireMs: 3_600_000,
  });
  const lab = await startTestLab({ coordinator: { host: "127.0.0.1", port: coordinator.port } });
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu-a", "w1", QEMU_DICTIONARY);
    await lab.addDevice("qemu02", "qemu-b", "w1", QEMU_DICTIONARY, { health: "Maintenance" });
    const single = qemuJob({ tests: [inlineTest("hello", ["lava-test-case hello --shell true"])] });
    const actions = (single.actions as Record<string, Record<string, unknown>>[]).map((a) => {
      const [kind, body] = Object.entries(a)[0];
      return { [kind]: { ...body, role: ["server", "client"] } };
    });
    const { device_type: _dt, ...rest } = single;
    const multinode = {
      ...rest,
      job_name: "two roles",
      protocols: {
        "lava-multinode": {
          roles: { server: { device_type: "qemu-a", count: 1 }, client: { device_type: "qemu-b", count: 1 } },
          timeout: { minutes: 5 },
        },
      },
      actions,
    };
    const ids = await submit(lab, stringify(multinode));
    assertEquals(ids.length, 2);
    assert(ids.every((id) => /^\d+\.\d$/.test(id)), ids.join(","));
    await lab.master.lab.settled();
    const device = await lab.api<Record<string, unknown>>("GET", "/api/v1/devices/qemu01");
    assertEquals(device.body.state, "Idle", "the group holds nothing while qemu-b is in maintenance");
    // The free device serves another job meanwhile.
    const other = await submit(lab, quickJob("meanwhile", { device_type: "qemu-a" }));
    await waitForJob(lab, other[0], (d) => d.state === "Finished", 30_000);
    const shown = await lab.api<Record<string, unknown>>("GET", `/api/v1/jobs/${ids[0]}`);
    assertEquals(shown.body.state, "Submitted");
    const ends = ids.map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 120_000));
    await lab.api("POST", "/api/v1/devices/qemu02/health", { health: "Good" });
    const results = await Promise.all(ends);
    assertEquals(results.map((r) => r.health), ["Complete", "Complete"]);
    assertEquals(new Set(results.map((r) => r.device)), new Set(["qemu01", "qemu02"]));
  } finally {
    await lab.close();
    await coordinator.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a personal job is its submitter's and an administrator's to see, and nobody else's", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const { addUser, issueToken } = await import("../master/storage/users.ts");
    await addUser(lab.master.storage.db, { username: "alice" });
    await addUser(lab.master.storage.db, { username: "bob" });
    const alice = (await issueToken(lab.master.storage.db, "alice")).token;
    const bob = (await issueToken(lab.master.storage.db, "bob")).token;
    const call = async (token: string | undefined, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${lab.master.url}${path}`, {
        method,
        headers: { ...(token ? { Authorization: `Token ${token}` } : {}), "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
    const submitted = await call(alice, "POST", "/api/v1/jobs", {
      definition: quickJob("secret", { visibility: "personal" }),
    });
    assertEquals(submitted.status, 201);
    const id = submitted.body.job_ids[0];
    assertEquals((await call(alice, "GET", `/api/v1/jobs/${id}`)).status, 200);
    assertEquals((await call(lab.token, "GET", `/api/v1/jobs/${id}`)).status, 200);
    assertEquals((await call(bob, "GET", `/api/v1/jobs/${id}`)).status, 404);
    assertEquals((await call(undefined, "GET", `/api/v1/jobs/${id}/logs`)).status, 404);
    assertEquals((await call(bob, "GET", "/api/v1/jobs")).body.results.length, 0);
    assertEquals((await call(bob, "POST", `/api/v1/jobs/${id}/cancel`)).status, 404);
    const publicJob = (await call(alice, "POST", "/api/v1/jobs", { definition: quickJob("open") })).body.job_ids[0];
    assertEquals((await call(bob, "POST", `/api/v1/jobs/${publicJob}/cancel`)).status, 403);
    assertEquals((await call(alice, "POST", `/api/v1/jobs/${publicJob}/cancel`)).status, 200);
  } finally {
    await lab.close();
  }
});

Deno.test("a job still queued when its queue timeout runs out is cancelled", async () => {
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1", { start: false });
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const job = qemuJob({ name: "impatient" });
    const [id] = await submit(
      lab,
      stringify({ ...job, timeouts: { ...(job.timeouts as object), queue: { seconds: 1 } } }),
    );
    const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 10_000);
    assertEquals(finished.health, "Canceled");
  } finally {
    await lab.close();
  }
});

Deno.test("cancelling one sub-job of a waiting MultiNode group cancels the whole group", async () => {
  const lab = await startTestLab();
  try {
    // No worker session: the group waits in the queue.
    await lab.addWorker("w1", { start: false });
    for (const d of ["qemu01", "qemu02", "qemu03"]) await lab.addDevice(d, "qemu", "w1", QEMU_DICTIONARY);
    const { device_type: _dt, ...rest } = qemuJob({ name: "group" });
    const multinode = {
      ...rest,
      protocols: {
        "lava-multinode": {
          roles: { server: { device_type: "qemu", count: 1 }, client: { device_type: "qemu", count: 2 } },
        },
      },
      actions: (rest.actions as Record<string, Record<string, unknown>>[]).map((a) => {
        const [kind, body] = Object.entries(a)[0];
        return { [kind]: { ...body, role: ["server", "client"] } };
      }),
    };
    const ids = await submit(lab, stringify(multinode));
    assertEquals(ids.length, 3);
    const ends = ids.map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 10_000));
    assertEquals((await lab.api("POST", `/api/v1/jobs/${ids[2]}/cancel`)).status, 200);
    assertEquals((await Promise.all(ends)).map((e) => e.health), ["Canceled", "Canceled", "Canceled"]);
    const shown = await lab.api<Record<string, unknown>>("GET", `/api/v1/jobs/${ids[0]}`);
    assertEquals([shown.body.state, shown.body.health], ["Finished", "Canceled"]);
  } finally {
    await lab.close();
  }
});
