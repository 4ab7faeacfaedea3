/**
 * The master with real workers in this process and the real QEMU device:
 * submit → Running → Finished with results and logs; cancel while running;
 * health checks; maintenance; priorities and tags; MultiNode all-or-nothing.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";

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
  } finally {
    await lab.close();
  }
});
