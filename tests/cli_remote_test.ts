/**
 * `deno task cli` against a running master: submitting, following a log live,
 * results, devices, workers, maintenance and the event stream — and LAVA's
 * ZeroMQ event frames, read by pyzmq as an existing LAVA listener would.
 */
import { textStream } from "../actors/text_stream.ts";
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { TestProcess } from "./support/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function cli(url: string, token: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "master/cli/main.ts", ...args, "--url", url, "--token", token],
    cwd: ROOT,
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("the cli submits a job, follows its log live and prints its results", async () => {
  const lab = await startTestLab();
  const dir = await Deno.makeTempDir();
  const listener = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `import sys, zmq, json
s = zmq.Context().socket(zmq.SUB); s.connect(sys.argv[1]); s.setsockopt(zmq.SUBSCRIBE, b"")
print("ready", flush=True)
while True:
    frames = s.recv_multipart()
    data = json.loads(frames[4])
    print(json.dumps([f.decode() for f in frames[:4]] + [data]), flush=True)
    if frames[0].endswith(b".testjob") and data.get("state") == "Finished": break`,
      lab.master.events,
    ],
    stdout: "piped",
  }).spawn();
  const events = TestProcess.deno("events", "master/cli/main.ts", [
    "events",
    "listen",
    "--filter",
    "testjob",
    "--url",
    lab.master.url,
  ]);
  try {
    const zmqLines = textStream(listener.stdout).getReader();
    let pending = "";
    while (!pending.includes("ready\n")) pending += (await zmqLines.read()).value ?? "";
    pending = pending.slice(pending.indexOf("ready\n") + 6);
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const file = `${dir}/job.yaml`;
    await Deno.writeTextFile(
      file,
      stringify(qemuJob({ tests: [inlineTest("cli", ["lava-test-case from-cli --result pass"])] })),
    );
    const submitted = await cli(lab.master.url, lab.token, "jobs", "submit", file);
    assertEquals(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const follow = await cli(lab.master.url, lab.token, "jobs", "logs", "--follow", id);
    assertEquals(follow.code, 0, follow.stderr);
    assertStringIncludes(follow.stdout, "Linux version");
    assertStringIncludes(follow.stdout, `job ${id}: Finished, Complete`);
    const results = await cli(lab.master.url, lab.token, "results", id);
    assert(/0_cli\s+from-cli\s+pass/.test(results.stdout), results.stdout);
    const devices = await cli(lab.master.url, lab.token, "devices", "list");
    assert(/qemu01\s+qemu\s+Idle\s+Good\s+w1/.test(devices.stdout), devices.stdout);
    const workers = await cli(lab.master.url, lab.token, "workers", "list");
    assert(/w1\s+Online\s+Active/.test(workers.stdout), workers.stdout);
    const maintenance = await cli(lab.master.url, lab.token, "devices", "maintenance", "qemu01");
    assertStringIncludes(maintenance.stdout, "qemu01: Idle, Maintenance");
    const anonymous = await cli(lab.master.url, "", "devices", "maintenance", "--off", "qemu01");
    assertEquals(anonymous.code, 1);
    assertStringIncludes(anonymous.stderr, "401");

    await events.waitFor(
      (e) => e.event === "text" && String(e.line).includes(`[${id}] <qemu01> state=Finished`),
      10_000,
    );
    const zmq: unknown[][] = [];
    for (;;) {
      const { value, done } = await zmqLines.read();
      if (done) break;
      // A read may end inside a line: keep the rest for the next one.
      pending += value;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      zmq.push(...lines.filter((l) => l.trim()).map((l) => JSON.parse(l)));
    }
    const finished = zmq.find((f) =>
      f[0] === "org.lavasoftware.testjob" && (f[4] as { state: string }).state === "Finished"
    )!;
    assertEquals((finished[4] as { job: string }).job, id);
    assertEquals(finished[3], "admin");
    assert(zmq.some((f) => f[0] === "org.lavasoftware.device"));
    assert(await waitForJob(lab, id, (d) => d.health === "Complete", 1000));
  } finally {
    await events.stop();
    try {
      listener.kill();
    } catch { /* ended */ }
    await listener.status;
    await lab.close();
    await Deno.remove(dir, { recursive: true });
  }
});
