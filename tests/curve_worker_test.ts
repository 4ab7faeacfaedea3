/**
 * A worker on "another host" — the master on 127.0.0.2, the worker connecting
 * to it — with CurveZMQ, as LAVA's "adding a remote worker" goes: keys made by
 * `deno task manage keys create`, the master given the workers' public keys,
 * and a job run through the encrypted link. A worker whose key the master does
 * not know never comes online.
 */
import { stringify } from "yaml";
import { assertEquals } from "./support/assert.ts";
import { DUT_DIR, inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY } from "./support/lab.ts";
import { TestProcess } from "./support/process.ts";
import { freePort } from "./support/postgres.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function manage(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "master/manage/main.ts", ...args],
    cwd: ROOT,
  })
    .output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("a remote worker runs a job over CurveZMQ and a worker with an unknown key stays out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-curve-" });
  const processes: TestProcess[] = [];
  try {
    const data = `${dir}/data`;
    await manage("keys", "create", "--directory", `${dir}/master-keys`, "master");
    await manage("keys", "create", "--directory", `${dir}/worker-keys`, "remote-1");
    await manage("keys", "create", "--directory", `${dir}/intruder-keys`, "intruder");
    // The master's allowed directory holds the workers' public halves only.
    await Deno.mkdir(`${dir}/allowed`);
    await Deno.copyFile(`${dir}/worker-keys/remote-1.key`, `${dir}/allowed/remote-1.key`);
    await manage("--data-dir", data, "users", "add", "--superuser", "admin");
    const token = (await manage("--data-dir", data, "tokens", "add", "--user", "admin")).trim().split("\n").at(-1)!;
    await manage("--data-dir", data, "workers", "add", "remote-1");
    await manage("--data-dir", data, "device-types", "add", "qemu");
    await manage("--data-dir", data, "devices", "add", "--device-type", "qemu", "--worker", "remote-1", "qemu01");
    await Deno.mkdir(`${data}/lab/devices`, { recursive: true });
    await Deno.writeTextFile(`${data}/lab/devices/qemu01.jinja2`, QEMU_DICTIONARY);
    const port = freePort();
    const master = TestProcess.deno("master", "master/main.ts", [
      "--data-dir",
      data,
      "--http",
      "127.0.0.1:0",
      "--zmq",
      `tcp://127.0.0.2:${port}`,
      "--events",
      "tcp://127.0.0.1:*",
      "--encrypt",
      "--master-cert",
      `${dir}/master-keys/master.key_secret`,
      "--workers-certs",
      `${dir}/allowed`,
      "--heartbeat",
      "200",
      "--log-level",
      "error",
    ]);
    processes.push(master);
    const ready = await master.waitForEvent("ready", 60_000);
    const url = String(ready.http);
    const api = async (method: string, path: string, body?: unknown) =>
      await (await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Token ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      })).json();
    const worker = (name: string, keys: string) =>
      TestProcess.deno(name, "worker/main.ts", [
        "--name",
        name,
        "--master",
        `tcp://127.0.0.2:${port}`,
        "--encrypt",
        "--master-cert",
        `${dir}/master-keys/master.key`,
        "--worker-cert",
        `${keys}/${name}.key_secret`,
        "--state-dir",
        `${dir}/state-${name}`,
        "--file-dirs",
        DUT_DIR,
        "--heartbeat",
        "200",
        "--log-level",
        "error",
      ]);
    processes.push(worker("intruder", `${dir}/intruder-keys`));
    processes.push(worker("remote-1", `${dir}/worker-keys`));
    await api("POST", "/api/v1/devices/qemu01/health", { health: "Good" });
    const job = qemuJob({ tests: [inlineTest("remote", ["lava-test-case over-curve --shell true"])] });
    const [id] = (await api("POST", "/api/v1/jobs", { definition: stringify(job) })).job_ids;
    let shown: Record<string, unknown> = {};
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && shown.state !== "Finished";) {
      await new Promise((r) => setTimeout(r, 500));
      shown = await api("GET", `/api/v1/jobs/${id}`);
    }
    assertEquals([shown.state, shown.health], ["Finished", "Complete"]);
    const results = await api("GET", `/api/v1/jobs/${id}/results`);
    assertEquals(
      (results.results as { name: string; result: string }[]).find((r) => r.name === "over-curve")?.result,
      "pass",
    );
    const workers = (await api("GET", "/api/v1/workers")).results as { hostname: string; state: string }[];
    assertEquals(workers.map((w) => [w.hostname, w.state]), [["remote-1", "Online"]], "the intruder never got in");
  } finally {
    for (const p of processes.reverse()) await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
