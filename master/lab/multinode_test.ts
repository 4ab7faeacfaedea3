import { parse } from "yaml";
import { assertEquals } from "../../tests/support/assert.ts";
import { exampleFiles, testWithExamples } from "../../tests/support/lava_examples.ts";
import { splitMultinode } from "./multinode.ts";
import { validateJob } from "../../actors/definitions/job_schema.ts";
import { stringify } from "yaml";

testWithExamples("a MultiNode job splits into one sub-job per device with only its role's actions", () => {
  const [, , text] = exampleFiles("jobs").find(([name]) => name.endsWith("multinode-second.yaml"))!;
  const job = parse(text);
  const subs = splitMultinode(job, "group-1");
  assertEquals(subs.map((s) => [s.role, s.index, s.definition.device_type]), [
    ["server", 0, "cubietruck"],
    ["client", 1, "beaglebone-black"],
    ["client", 2, "beaglebone-black"],
  ]);
  const client = subs[1].definition as { protocols: Record<string, unknown>; job_name: string; actions: object[] };
  assertEquals(client.protocols["lava-multinode"], {
    target_group: "group-1",
    role: "client",
    group_size: 3,
    sub_id: 1,
    timeout: { minutes: 6 },
  });
  assertEquals(client.job_name, job.job_name);
  for (const action of client.actions) assertEquals((Object.values(action)[0] as { role: string[] }).role, ["client"]);
  const serverActions = (subs[0].definition.actions as unknown[]).length;
  const all = (job.actions as Record<string, { role: string[] }>[]).filter((a) =>
    Object.values(a)[0].role.includes("server")
  );
  assertEquals(serverActions, all.length);
});

testWithExamples("a sub-job as the master sends it is a valid job for the dispatcher", () => {
  const [, , text] = exampleFiles("jobs").find(([name]) => name.endsWith("multinode-second.yaml"))!;
  for (const sub of splitMultinode(parse(text), "group-2")) {
    const protocol = (sub.definition.protocols as Record<string, Record<string, unknown>>)["lava-multinode"];
    protocol.roles = { "10": "server", "11": "client", "12": "client" };
    const checked = validateJob(stringify(sub.definition));
    assertEquals(checked.errors.map((e) => e.message), []);
  }
});
