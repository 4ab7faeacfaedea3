/**
 * A MultiNode job end to end: the master splits it and places the group, two
 * QEMU devices boot, their test shells talk through `deno task coordinator`
 * with LAVA's device API (lava-send, lava-wait, lava-sync, lava-role,
 * lava-group), and both sub-jobs complete with the calls' results.
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { dutFile } from "./support/dut.ts";
import { qemuMultinodeJob } from "../ops/dut_jobs.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { TestProcess } from "./support/process.ts";

function multinodeJob(): Record<string, unknown> {
  return qemuMultinodeJob(dutFile, {
    name: "multinode over the coordinator",
    roles: {
      server: {
        deviceType: "qemu-a",
        steps: [
          "lava-send ready ip=10.0.0.1 name=hello world",
          'lava-test-case my-role --shell test "$(lava-role)" = server',
          "lava-test-case group-has-client --shell sh -c 'lava-group client'",
          "lava-sync done",
        ],
      },
      client: {
        deviceType: "qemu-b",
        steps: [
          "lava-wait ready",
          "cat /tmp/lava_multi_node_cache.txt",
          "lava-test-case got-ip --shell grep -q ':ip=10.0.0.1$' /tmp/lava_multi_node_cache.txt",
          "lava-test-case got-spaces --shell grep -q ':name=hello world$' /tmp/lava_multi_node_cache.txt",
          "lava-sync done",
        ],
      },
    },
  });
}

Deno.test("a two-role MultiNode job synchronises its devices through the coordinator", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-multinode-" });
  const coordinator = TestProcess.deno("coordinator", "coordinator/main.ts", [
    "--port",
    "0",
    "--state-dir",
    `${dir}/coordinator`,
    "--log-level",
    "error",
  ]);
  const ready = await coordinator.waitForEvent("ready", 30_000);
  const lab = await startTestLab({ coordinator: { host: "127.0.0.1", port: Number(ready.port) } });
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu-a", "w1", QEMU_DICTIONARY);
    await lab.addDevice("qemu02", "qemu-b", "w1", QEMU_DICTIONARY);
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(multinodeJob()),
    });
    assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
    const [server, client] = submitted.body.job_ids;
    const ends = await Promise.all(
      [server, client].map((id) => waitForJob(lab, id, (d) => d.state === "Finished", 180_000)),
    );
    const results = async (id: string) =>
      (await lab.api<{ results: Record<string, string>[] }>("GET", `/api/v1/jobs/${id}/results`)).body.results;
    const serverResults = await results(server);
    const clientResults = await results(client);
    const failed = [...serverResults, ...clientResults].filter((r) => r.result !== "pass");
    assertEquals(ends.map((e) => e.health), ["Complete", "Complete"], JSON.stringify(failed));
    const passed = (rs: Record<string, string>[]) => rs.filter((r) => r.result === "pass").map((r) => r.name);
    for (const name of ["multinode-send-ready", "my-role", "group-has-client", "multinode-sync-done"]) {
      assert(passed(serverResults).includes(name), `server: ${name}`);
    }
    for (const name of ["multinode-wait-ready", "got-ip", "got-spaces", "multinode-sync-done"]) {
      assert(passed(clientResults).includes(name), `client: ${name}`);
    }
  } finally {
    await lab.close();
    await coordinator.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
