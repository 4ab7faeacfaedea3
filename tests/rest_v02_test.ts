/**
 * LAVA's REST API v0.2 and its callbacks against a real master (in this
 * process, on PGlite) whose worker exists only as its messages: KernelCI's LAVA
 * runtime flow — devices by type, queue count, submit, poll, and the callback
 * its parser reads — run by Python with the calls its code makes, and a walk of
 * v0.2's routes checking status codes, field names and DRF's envelopes for the
 * job that ran, and LAVA's older flat XML-RPC methods on the same lab.
 */
import { stringify } from "yaml";
import { parseMethodResponse, serializeMethodCall, type XmlRpcInput } from "../master/http/xmlrpc.ts";
import { addUser, issueToken, setPassword } from "../master/storage/users.ts";
import { addCallbackToken } from "../master/storage/callback_tokens.ts";
import { qemuJob } from "./support/dut.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { startFakeWorker } from "./support/fake_worker.ts";
import { QEMU_DICTIONARY, startQuietMaster } from "./support/lab.ts";
import { eventually } from "./support/wait.ts";

// KernelCI's calls (kernelci-core, kernelci/runtime/lava.py) and its callback parsing, in Python as it runs them.
const KERNELCI_FLOW = `
import json, sys, time, urllib.request, urllib.parse, yaml
base, token, definition = sys.argv[1], sys.argv[2], sys.stdin.read()
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Token " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())
devices = call("GET", "devices/?device_type=qemu&health=Good")
queued = call("GET", "jobs/?requested_device_type=qemu&state=Submitted&limit=1")["count"]
job_id = call("POST", "jobs/", {"definition": definition})["job_ids"][0]
queued_after = call("GET", "jobs/?requested_device_type=qemu&state__in=Submitted,Scheduling,Scheduled&limit=1")["count"]
print(json.dumps({"devices": [d["hostname"] for d in devices["results"]], "queued": queued,
    "queued_after": queued_after, "job_id": job_id}))
`;

const KERNELCI_CALLBACK = `
import json, sys, yaml
data = json.load(sys.stdin)
results = {suite: yaml.safe_load(text) for suite, text in data["results"].items()}
log = yaml.safe_load(data["log"])
print(json.dumps({
    "job": data["id"], "status": data["status"], "state": data["state"], "health": data["health_string"],
    "device": data["actual_device_id"], "submitter": data["submitter_username"],
    "cases": sorted((suite, case["name"], case["result"]) for suite, cases in results.items() for case in cases),
    "target_lines": [line["msg"] for line in log if line["lvl"] == "target"],
    "definition_has_job_name": "job_name" in yaml.safe_load(data["definition"]),
}))
`;

async function python(script: string, args: string[], stdin: string): Promise<Record<string, unknown>> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `python: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("KernelCI's LAVA flow and LAVA's REST v0.2 routes against a real master", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-rest-v02-" });
  const master = await startQuietMaster({ kind: "pglite", dataDir: `${dir}/data` }, dir);
  const worker = await startFakeWorker("w1", master.zmq, `${dir}/w1`);
  const { db } = master.storage;
  const received: { headers: Headers; body: string }[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    received.push({ headers: request.headers, body: await request.text() });
    return new Response("ok");
  });
  try {
    const admin = await addUser(db, { username: "admin", superuser: true });
    const adminToken = (await issueToken(db, "admin")).token;
    const ci = await addUser(db, { username: "kernelci" });
    const token = (await issueToken(db, "kernelci")).token;
    await addCallbackToken(db, master.lab.secrets!, ci.id, "kernelci-callback", "callback-secret");
    const api = `${master.url}/api/v0.2/`;
    const as = (secret: string) => ({ Authorization: `Token ${secret}`, "Content-Type": "application/json" });
    const call = async (method: string, path: string, secret = adminToken, body?: unknown) => {
      const response = await fetch(`${api}${path}`, {
        method,
        headers: as(secret),
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch { /* a text answer */ }
      return { status: response.status, json: json as Record<string, unknown>, text, headers: response.headers };
    };
    // The lab, made through the REST and XML-RPC admin paths.
    await eventually("w1 registers", () => master.lab.catalog.workers.has("w1"));
    const { addLabDeviceType } = await import("../master/lab/admin/device_types.ts");
    const { addLabDevice, setDictionary, updateLabDevice } = await import("../master/lab/admin/devices.ts");
    await addLabDeviceType(master.lab, admin, { name: "qemu" });
    await addLabDevice(master.lab, admin, { hostname: "qemu01", deviceType: "qemu", worker: "w1" });
    await setDictionary(master.lab, admin, "qemu01", QEMU_DICTIONARY);
    await updateLabDevice(master.lab, admin, "qemu01", { health: "Good", reason: "test" });

    const definition = stringify({
      ...qemuJob({ name: "kernelci baseline" }),
      metadata: { "kernel.tree": "mainline" },
      notify: {
        criteria: { status: "finished" },
        callbacks: [{
          url: `http://127.0.0.1:${receiver.addr.port}/callback`,
          method: "POST",
          dataset: "all",
          token: "kernelci-callback",
          "content-type": "json",
        }],
      },
    });

    await t.step("KernelCI submits, counts the queue and lists devices by type", async () => {
      const flow = await python(KERNELCI_FLOW, [api, token], definition);
      assertEquals(flow.devices, ["qemu01"]);
      assertEquals([flow.queued, typeof flow.job_id], [0, "number"]);
      const [started] = await worker.take(1);
      assertEquals(started, String(flow.job_id));
      worker.run(started, [[
        { dt: new Date().toISOString(), lvl: "target", msg: "Linux version 6.1.0" },
        {
          dt: new Date().toISOString(),
          lvl: "results",
          msg: { definition: "0_baseline", case: "dmesg", result: "pass" },
        },
        {
          dt: new Date().toISOString(),
          lvl: "results",
          msg: { definition: "0_baseline", case: "oops", result: "fail" },
        },
      ]]);
      await eventually("the callback", () => received.length === 1);
      assertEquals(received[0].headers.get("authorization"), "callback-secret");
      const parsed = await python(KERNELCI_CALLBACK, [], received[0].body);
      assertEquals(parsed.job, flow.job_id);
      assertEquals([parsed.status, parsed.state, parsed.device, parsed.submitter], [2, 5, "qemu01", "kernelci"]);
      assertEquals(parsed.target_lines, ["Linux version 6.1.0"]);
      assertEquals(parsed.definition_has_job_name, true);
      const cases = parsed.cases as string[][];
      assert(cases.some(([s, n, r]) => s === "0_baseline" && n === "dmesg" && r === "pass"), JSON.stringify(cases));
      assert(cases.some(([s, n, r]) => s === "0_baseline" && n === "oops" && r === "fail"), JSON.stringify(cases));
    });

    await t.step("LAVA's flat XML-RPC methods answer as LAVA's", async () => {
      const rpc = async (secret: string, method: string, ...params: XmlRpcInput[]) => {
        const response = await fetch(`${master.url}/RPC2`, {
          method: "POST",
          headers: { "Content-Type": "text/xml", Authorization: `Token ${secret}` },
          body: serializeMethodCall(method, params),
        });
        return parseMethodResponse(await response.text());
      };
      const value = async (method: string, ...params: XmlRpcInput[]) => {
        const answer = await rpc(adminToken, method, ...params);
        if (answer.kind === "fault") throw new Error(`${method}: ${answer.code} ${answer.message}`);
        return answer.value as unknown;
      };
      const [first] = (await value("scheduler.all_devices")) as unknown[][];
      assertEquals(first, ["qemu01", "qemu", "idle", null, true]);
      assertEquals(await value("scheduler.all_device_types"), [{ name: "qemu", busy: 0, idle: 1, offline: 0 }]);
      const recent = (await value("scheduler.get_recent_jobs_for_device", "qemu01", 5)) as { status: string }[];
      assertEquals(recent[0].status, "Complete");
      const job = (recent[0] as unknown as { id: number }).id;
      assertEquals(await value("scheduler.job_health", job), { job_id: job, job_health: "Complete" });
      assertEquals(await value("scheduler.job_state", job), { job_id: job, job_state: "Finished" });
      assertEquals(await value("scheduler.job_status", job), { job_status: "Complete", bundle_sha1: "" });
      const details = (await value("scheduler.job_details", job)) as Record<string, unknown>;
      assertEquals([details.status, details.submitter_username, details.is_pipeline], ["Complete", "kernelci", true]);
      const output = new TextDecoder().decode((await value("scheduler.job_output", job)) as Uint8Array);
      assert(output.includes("Linux version 6.1.0"), output);
      const [definition, device] = (await value("scheduler.jobs.configuration", job)) as string[];
      assert(definition.includes("kernelci baseline") && device.includes("qemu"), device);
      const status = (await value("scheduler.get_device_status", "qemu01")) as Record<string, unknown>;
      assertEquals([status.status, status.job, status.is_pipeline], ["idle", null, true]);
      assertEquals(await value("scheduler.pending_jobs_by_device_type"), { qemu: 0 });
      await value("scheduler.aliases.add", "board", "qemu");
      assertEquals(await value("scheduler.get_device_type_by_alias", "boa"), { boa: ["qemu"] });
      const exported = new TextDecoder().decode(
        (await value("scheduler.export_device_dictionary", "qemu01")) as Uint8Array,
      );
      assertEquals(exported, QEMU_DICTIONARY);
      assert(String(await value("results.get_testjob_suites_list_csv", job)).startsWith('"name","job","id"'));
      const query =
        (await value("results.make_custom_query", "testjob", "testjob__submitter__exact__kernelci", 10)) as {
          id: number;
        }[];
      assert(query.some((j) => j.id === job));
      await value("scheduler.put_into_maintenance_mode", "qemu01", "cabling");
      assertEquals(((await value("scheduler.get_device_status", "qemu01")) as { status: string }).status, "offline");
      const refused = await rpc(token, "scheduler.put_into_online_mode", "qemu01", "done");
      assertEquals(refused.kind === "fault" && refused.code, 403);
      await value("scheduler.put_into_online_mode", "qemu01", "done");
      const invalid = await rpc(token, "scheduler.validate_yaml", "job_name: x\n");
      assertEquals(invalid.kind === "fault" && invalid.code, 400);
    });

    await t.step("v0.2's routes answer with LAVA's codes, fields and envelopes", async () => {
      const list = await call("GET", "jobs/?ordering=-id&limit=1");
      assertEquals(list.status, 200);
      assertEquals(Object.keys(list.json), ["count", "next", "previous", "results"]);
      const job = (list.json.results as Record<string, unknown>[])[0];
      for (
        const field of [
          "id",
          "submitter",
          "viewing_groups",
          "description",
          "health_check",
          "requested_device_type",
          "tags",
          "actual_device",
          "submit_time",
          "start_time",
          "end_time",
          "state",
          "health",
          "priority",
          "definition",
          "original_definition",
          "multinode_definition",
          "failure_tags",
          "failure_comment",
        ]
      ) assert(field in job, `jobs/ has ${field}`);
      assertEquals([job.state, job.health, job.submitter], ["Finished", "Complete", "kernelci"]);
      const id = job.id;
      assertEquals((await call("GET", `jobs/${id}`)).status, 301, "APPEND_SLASH");
      assertEquals((await call("GET", `jobs/${id}`)).headers.get("location"), `/api/v0.2/jobs/${id}/`);
      assertEquals((await call("GET", `jobs/${id}/`)).json.id, id);
      assertEquals((await call("GET", "jobs/999999/")).status, 404);
      assertEquals((await call("GET", "jobs/999999/")).json, { detail: "Not found." });
      assertEquals((await call("GET", "jobs/?state=Nonsense")).status, 400);
      assertEquals((await call("GET", "jobs/?health=Complete&submitter__username=kernelci")).json.count, 1);
      assertEquals((await call("GET", `jobs/${id}/metadata/`)).json, { metadata: [{ "kernel.tree": "mainline" }] });
      const logs = await call("GET", `jobs/${id}/logs/?start=0&end=1`);
      assertEquals([logs.status, logs.headers.get("content-type")], [200, "application/yaml"]);
      assert(logs.text.startsWith("- {"), logs.text);
      const tests = await call("GET", `jobs/${id}/tests/?result=fail`);
      assertEquals((tests.json.results as { name: string }[]).map((c) => c.name), ["oops"]);
      const suites = await call("GET", `jobs/${id}/suites/`);
      assert((suites.json.results as { name: string }[]).some((s) => s.name === "0_baseline"));
      assert((await call("GET", `jobs/${id}/junit/`)).text.includes('<testcase name="oops"'));
      assert((await call("GET", `jobs/${id}/tap13/`)).text.includes("not ok"));
      assert((await call("GET", `jobs/${id}/csv/`)).text.startsWith("job,suite,result"));
      assert((await call("GET", `jobs/${id}/yaml/`)).text.includes("name: dmesg"));
      assertEquals((await call("POST", "jobs/validate/", token, { definition })).json, { message: "Job valid." });
      assertEquals(
        (await call("POST", "jobs/validate_testdef/", token, { definition: "metadata: {}\n" })).json,
        { message: "Test defnition invalid: required key not provided @ data['metadata']['format']" },
      );
      const anonymous = await fetch(`${api}jobs/`, { method: "POST", body: "{}" });
      assertEquals([anonymous.status, await anonymous.json()], [403, {
        detail: "Authentication credentials were not provided.",
      }]);
      const bad = await call("GET", "jobs/", "not-a-token");
      assertEquals([bad.status, bad.json], [403, { detail: "Invalid token." }]);
      const resubmitted = await call("POST", `jobs/${id}/resubmit/`, token);
      assertEquals(resubmitted.status, 201);
      const again = (resubmitted.json.job_ids as number[])[0];
      assertEquals((await call("GET", `jobs/${again}/cancel/`, token)).json, { message: "Job cancel signal sent." });

      const device = (await call("GET", "devices/qemu01/")).json;
      assertEquals(Object.keys(device).sort(), [
        "description",
        "device_type",
        "device_version",
        "health",
        "hostname",
        "is_synced",
        "last_health_report_job",
        "physical_group",
        "physical_owner",
        "state",
        "tags",
        "worker_host",
      ]);
      assertEquals((await call("GET", "devices/qemu01/dictionary/")).text, QEMU_DICTIONARY);
      const rendered = await call("GET", "devices/qemu01/dictionary/?render=1&context=arch:%20arm64");
      assertEquals(rendered.headers.get("content-type"), "application/yaml");
      assert(rendered.text.includes("hostname: 'qemu01'"), rendered.text);
      const valid = await fetch(`${api}devices/validate/`, { method: "POST", body: QEMU_DICTIONARY });
      assertEquals(await valid.json(), { message: "Device dictionary valid." });
      const invalid = await fetch(`${api}devices/validate/`, {
        method: "POST",
        body: "{% extends 'nosuch.jinja2' %}\n",
      });
      assert(String((await invalid.json()).message).startsWith("Device dictionary invalid: "));
      const noCheck = await call("GET", "devicetypes/qemu/health_check/");
      assertEquals([noCheck.status, noCheck.json], [400, { detail: "Device-type 'qemu' health check was not found." }]);
      assertEquals((await call("GET", "devicetypes/qemu/")).json.health_denominator, "hours");
      assertEquals((await call("GET", "workers/w1/")).json.hostname, "w1");
      assertEquals((await call("GET", "system/whoami/", token)).json, { user: "kernelci" });
      assertEquals((await call("POST", "aliases/", adminToken, { name: "vm", device_type: "qemu" })).status, 201);
      assertEquals((await call("GET", "aliases/vm/")).json, { name: "vm", device_type: "qemu" });
      assertEquals((await call("POST", "aliases/", token, { name: "vm2", device_type: "qemu" })).status, 403);
      const page = await call("GET", "jobs/?limit=1&offset=0");
      assertEquals(page.json.previous, null);
      assert(String(page.json.next).endsWith("/api/v0.2/jobs/?limit=1&offset=1"), String(page.json.next));
    });

    await t.step("permissions, groups, users, remote artifact tokens and batch-cancel", async () => {
      assertEquals((await call("GET", "groups/", token)).status, 403);
      const group = await call("POST", "groups/", adminToken, { name: "lab-team" });
      assertEquals([group.status, group.json.name], [201, "lab-team"]);
      const grant = await call("POST", "permissions/devicetypes/", adminToken, {
        group: "lab-team",
        permission: "submit_to_devicetype",
        devicetype: "qemu",
      });
      assertEquals(grant.status, 201);
      assertEquals(Object.keys(grant.json).sort(), ["devicetype", "group", "id", "permission"]);
      const grants = await call("GET", "permissions/devicetypes/");
      assertEquals((grants.json.results as unknown[]).length, 1);
      assertEquals((await call("DELETE", `permissions/devicetypes/${grant.json.id}/`, token)).status, 403);
      assertEquals((await call("DELETE", `permissions/devicetypes/${grant.json.id}/`, adminToken)).status, 204);
      const users = await call("GET", "users/?username=kernelci", adminToken);
      assertEquals((users.json.results as { username: string; is_superuser: boolean }[])[0].username, "kernelci");
      assertEquals((await call("GET", "users/", token)).status, 403);

      await setPassword(db, "kernelci", "correct horse battery");
      const wrong = await fetch(`${api}token/`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "kernelci", password: "wrong" }),
      });
      assertEquals([wrong.status, await wrong.json()], [400, {
        non_field_errors: ["Unable to log in with provided credentials."],
      }]);
      const obtained = await fetch(`${api}token/`, {
        method: "POST",
        body: new URLSearchParams({ username: "kernelci", password: "correct horse battery" }),
      });
      const fresh = (await obtained.json()).token as string;
      assertEquals((await call("GET", "system/whoami/", fresh)).json, { user: "kernelci" });
      assertEquals((await fetch(`${api}aliases/`)).status, 403, "aliases are read by users");

      const made = await call("POST", "remote-artifact-tokens/", token, { name: "gitlab", token: "glpat-1" });
      assertEquals([made.status, made.json], [201, { name: "gitlab", token: "glpat-1" }]);
      const mine = await call("GET", "remote-artifact-tokens/", token);
      assertEquals(
        (mine.json.results as { name: string }[]).map((t) => t.name).sort(),
        ["gitlab", "kernelci-callback"],
      );
      assertEquals(((await call("GET", "remote-artifact-tokens/", adminToken)).json.results as unknown[]).length, 0);

      const type = await call("POST", "devicetypes/", adminToken, { name: "bbb", health_denominator: "jobs" });
      assertEquals([type.status, type.json.health_denominator], [201, "jobs"]);
      assertEquals((await call("POST", "devicetypes/", token, { name: "juno" })).status, 403);
      const worker2 = await call("POST", "workers/", adminToken, { hostname: "w2", description: "spare" });
      assertEquals([worker2.status, worker2.json.description, worker2.json.state], [201, "spare", "Offline"]);
      const device = await call("POST", "devices/", adminToken, {
        hostname: "bbb01",
        device_type: "bbb",
        worker_host: "w2",
      });
      assertEquals([device.status, device.json.worker_host, device.json.health], [201, "w2", "Maintenance"]);
      const patched = await call("PATCH", "devices/bbb01/", adminToken, { description: "on the shelf" });
      assertEquals([patched.status, patched.json.description], [200, "on the shelf"]);
      assertEquals((await call("PATCH", "devices/bbb01/", token, { description: "mine" })).status, 403);
      const retired = await call("PATCH", "devices/bbb01/", adminToken, { health: "Retired" });
      assertEquals(retired.json.health, "Retired");
      const limited = await call("PATCH", "workers/w2/", adminToken, { job_limit: 3 });
      assertEquals(limited.json.job_limit, 3);
      assertEquals((await call("DELETE", "workers/w2/", adminToken)).status, 204);
      assertEquals((await call("GET", "workers/w2/")).status, 404);

      const queued = await call("POST", "jobs/", token, { definition: stringify(qemuJob({ name: "to cancel" })) });
      const id = (queued.json.job_ids as number[])[0];
      const batch = await call("POST", "jobs/batch-cancel/", token, { job_ids: [id, 999999] });
      assertEquals(batch.json, {
        message: "Job cancel signal sent for job ids.",
        job_ids: [id],
        invalid_job_ids: [999999],
      });
    });
  } finally {
    await worker.close();
    await receiver.shutdown();
    await master.close();
    await Deno.remove(dir, { recursive: true });
  }
});
