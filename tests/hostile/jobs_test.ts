/**
 * Hostile job contexts, sent the way an ordinary submitter would (a user with a
 * token, through the JSON API) to a real lab: a master, a worker and the QEMU
 * device. The job's values are printed into the device's YAML by the templates;
 * none of them may add a setting (a `commands.users` entry runs with `sh -c` on the
 * worker), and a value that breaks the rendering fails that job, not the device.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { dutFile, inlineTest, qemuJob } from "../support/dut.ts";
import { qemuMultinodeJob } from "../../ops/dut_jobs.ts";
import { QEMU_DICTIONARY, startTestLab, type TestLab, waitForJob } from "../support/lab.ts";
import { addUser, issueToken } from "../../master/storage/users.ts";
import { startLogSource } from "../support/log_source.ts";

async function submitAs(lab: TestLab, token: string, job: Record<string, unknown>) {
  const response = await fetch(`${lab.master.url}/api/v1/jobs`, {
    method: "POST",
    headers: { Authorization: `Token ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ definition: stringify(job) }),
  });
  return { status: response.status, body: await response.json() as { job_ids?: string[]; error?: string } };
}

async function setDictionary(lab: TestLab, hostname: string, text: string): Promise<number> {
  const response = await fetch(`${lab.master.url}/api/v1/devices/${hostname}/dictionary`, {
    method: "PUT",
    headers: { Authorization: `Token ${lab.token}`, "Content-Type": "text/plain" },
    body: text,
  });
  await response.body?.cancel();
  return response.status;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a job's context cannot add commands to its device, break it, or stop the lab running other jobs", async () => {
  const lab = await startTestLab();
  const proof = `/tmp/basalt-hostile-${crypto.randomUUID()}`;
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    await addUser(lab.master.storage.db, { username: "mallory" });
    const { token } = await issueToken(lab.master.storage.db, "mallory");
    const command = { command: { name: "x", timeout: { minutes: 1 } } };

    // A line break adds `commands.users.x.do` beside `machine`; the command action would run it.
    const newline = await submitAs(lab, token, {
      ...qemuJob({ name: "newline" }),
      context: { machine: `q35\ncommands:\n  users:\n    x:\n      do: touch ${proof}` },
      actions: [command],
    });
    assertEquals(newline.status, 400, JSON.stringify(newline.body));
    assertStringIncludes(newline.body.error ?? "", "context.machine");

    // Without a line break: a flow mapping where a plain value was expected.
    const flow = await submitAs(lab, token, {
      ...qemuJob({ name: "flow" }),
      context: { lava_test_results_dir: `{users: {x: {do: touch ${proof}}}}` },
    });
    assertEquals(flow.status, 400, JSON.stringify(flow.body));
    assertStringIncludes(flow.body.error ?? "", "context.lava_test_results_dir");

    // A quote that breaks the template's own quoting: refused, and the device is not marked Bad.
    const quote = await submitAs(lab, token, {
      ...qemuJob({ name: "quote" }),
      context: { kernel_start_message: "it's" },
    });
    assertEquals(quote.status, 400, JSON.stringify(quote.body));
    assertStringIncludes(quote.body.error ?? "", "context");
    assertEquals((await lab.api("GET", "/api/v1/devices/qemu01")).body.health, "Good");

    // QEMU options that would write a file on the worker (the chardev) or run a program (a tap network's script).
    for (const extra of [[`-chardev file,id=c,path=${proof}`, "-serial chardev:c"], ["-netdev", "tap,id=n0"]]) {
      const qemu = await submitAs(lab, token, {
        ...qemuJob({ name: "qemu options" }),
        context: { extra_options: extra },
      });
      assertEquals(qemu.status, 400, JSON.stringify(qemu.body));
      assertStringIncludes(qemu.body.error ?? "", "context.extra_options");
    }

    // A MultiNode role asking for a hundred million devices is refused before it is split.
    const huge = qemuMultinodeJob(dutFile, { name: "huge", roles: { a: { deviceType: "qemu", steps: [] } } });
    (huge.protocols as { "lava-multinode": { roles: { a: { count: number } } } })["lava-multinode"].roles.a.count =
      100_000_000;
    const group = await submitAs(lab, token, huge);
    assertEquals(group.status, 400, JSON.stringify(group.body));
    assertStringIncludes(group.body.error ?? "", "asks for 100000000 devices");

    // A value the current dictionary does not print is accepted; when the admin changes the
    // dictionary so that it is printed, the job fails at scheduling as the job's fault.
    await lab.api("POST", "/api/v1/devices/qemu01/health", { health: "Maintenance", reason: "rewiring" });
    const shielded = `${QEMU_DICTIONARY}{% set kernel_start_message = 'Linux version' %}\n`;
    assertEquals(await setDictionary(lab, "qemu01", shielded), 200);
    const late = await submitAs(lab, token, {
      ...qemuJob({ name: "late" }),
      context: { kernel_start_message: "it's" },
    });
    assertEquals(late.status, 201, JSON.stringify(late.body));
    assertEquals(await setDictionary(lab, "qemu01", QEMU_DICTIONARY), 200);
    await lab.api("POST", "/api/v1/devices/qemu01/health", { health: "Good", reason: "back" });
    const failed = await waitForJob(lab, late.body.job_ids![0], (d) => d.state === "Finished", 30_000);
    assertEquals(failed.health, "Incomplete");
    const shown = await lab.api("GET", `/api/v1/jobs/${late.body.job_ids![0]}`);
    assertEquals(shown.body.error_type, "Job", JSON.stringify(shown.body));
    assertStringIncludes(String(shown.body.error_msg), "kernel_start_message");

    // The device is still Good and runs the next job to Complete.
    const good = await submitAs(lab, token, {
      ...qemuJob({ name: "after", tests: [inlineTest("smoke", ["lava-test-case ok --result pass"])] }),
      context: { machine: "q35", cpu: "max" },
    });
    assertEquals(good.status, 201, JSON.stringify(good.body));
    const finished = await waitForJob(lab, good.body.job_ids![0], (d) => d.state === "Finished", 120_000);
    assertEquals(finished.health, "Complete");
    const device = await lab.api("GET", "/api/v1/devices/qemu01");
    assertEquals([device.body.state, device.body.health], ["Idle", "Good"]);
    assert(!exists(proof), "a context value ran a command on the worker");
  } finally {
    await lab.close();
    await Deno.remove(proof).catch(() => {});
  }
});

Deno.test("a worker cannot log to, or end, a job that runs on another worker", async () => {
  const lab = await startTestLab();
  try {
    // Two workers that exist only as their messages, handed over as an authenticated mailbox would.
    const source = await startLogSource(lab, "w1");
    await lab.addWorker("w2", { start: false });
    lab.master.lab.peerEvent({ type: "online", peer: "w2", summary: { version: "test", jobLimit: 0, running: [] } });
    const scope = { journal: () => {} };
    const job = source.job;
    lab.master.lab.deliver({
      peer: "w2",
      to: `job/${job}`,
      kind: "job.log",
      body: { job, from: 0, lines: [{ dt: new Date().toISOString(), lvl: "target", msg: "forged" }] },
    }, scope);
    lab.master.lab.deliver(
      { peer: "w2", to: `job/${job}`, kind: "job.finished", body: { job, result: "pass" } },
      scope,
    );
    source.push(["genuine"]);
    await source.flush();
    const shown = await lab.api("GET", `/api/v1/jobs/${job}`);
    assertEquals(shown.body.state, "Running");
    const logs = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${job}/logs`);
    assertEquals(logs.body.lines.map((l) => l.msg), ["genuine"]);
  } finally {
    await lab.close();
  }
});
