/**
 * Fuzzing the master's two APIs: 10,000 malformed and random requests to
 * `/RPC2`, `/api/v1`, `/api/v0.2` and LAVA's worker API (random methods and values, mutated and random bodies,
 * hostile path segments and query parameters), as anonymous, ordinary and
 * superuser clients. Every one must be answered — with a 2xx or a 4xx: a 5xx
 * here is a bug the fuzzer found, and the test prints the request — and the
 * master must still serve afterwards. Seeded, so a failure repeats.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startTestLab } from "../support/lab.ts";
import { addUser, issueToken } from "../../master/storage/users.ts";

const REQUESTS = 10_000;
const CONCURRENCY = 4;
const LAVA_TOKEN = "fuzzed-lava-worker-token-0123456";
const SEED = Number(Deno.env.get("BASALT_FUZZ_SEED") ?? 20261203);

/** xorshift32: small, seeded, good enough to choose among cases. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}
type Random = ReturnType<typeof random>;

const RPC_METHODS = [
  "system.version",
  "system.whoami",
  "system.api_version",
  "system.master_config",
  "system.listMethods",
  "system.methodHelp",
  "scheduler.jobs.submit",
  "scheduler.submit_job",
  "scheduler.jobs.validate",
  "scheduler.jobs.show",
  "scheduler.jobs.definition",
  "scheduler.jobs.logs",
  "scheduler.jobs.list",
  "scheduler.jobs.queue",
  "scheduler.jobs.cancel",
  "scheduler.jobs.resubmit",
  "scheduler.cancel_job",
  "scheduler.devices.list",
  "scheduler.devices.show",
  "scheduler.devices.get_dictionary",
  "scheduler.devices.set_dictionary",
  "scheduler.devices.update",
  "scheduler.devices.add",
  "scheduler.devices.tags.list",
  "scheduler.device_types.list",
  "scheduler.device_types.show",
  "scheduler.device_types.get_template",
  "scheduler.device_types.set_template",
  "scheduler.device_types.get_health_check",
  "scheduler.device_types.set_health_check",
  "scheduler.device_types.add",
  "scheduler.workers.list",
  "scheduler.workers.show",
  "scheduler.workers.add",
  "scheduler.workers.update",
  "scheduler.workers.get_config",
  "scheduler.workers.set_config",
  "scheduler.workers.get_env",
  "scheduler.workers.get_env_dut",
  "scheduler.workers.set_env_dut",
  "scheduler.tags.list",
  "scheduler.get_publisher_event_socket",
  "results.get_testjob_results_yaml",
  "results.get_testjob_results_csv",
  "results.get_testjob_suites_list_yaml",
  "results.get_testjob_metadata",
  "results.get_testsuite_results_yaml",
  "results.get_testsuite_results_csv",
  "results.get_testsuite_results_count",
  "results.get_testcase_results_yaml",
  "results.get_testcase_results_csv",
  "scheduler.all_devices",
  "scheduler.all_device_types",
  "scheduler.all_jobs",
  "scheduler.get_device_status",
  "scheduler.get_device_config",
  "scheduler.get_recent_jobs_for_device",
  "scheduler.get_recent_jobs_for_device_type",
  "scheduler.get_device_type_by_alias",
  "scheduler.job_details",
  "scheduler.job_output",
  "scheduler.job_state",
  "scheduler.put_into_maintenance_mode",
  "scheduler.put_into_online_mode",
  "scheduler.pending_jobs_by_device_type",
  "scheduler.import_device_dictionary",
  "scheduler.export_device_dictionary",
  "scheduler.validate_pipeline_devices",
  "scheduler.validate_yaml",
  "scheduler.jobs.configuration",
  "scheduler.workers.get_certificate",
  "scheduler.workers.set_certificate",
  "results.make_custom_query",
  "results.get_testjob_suites_list_csv",
  "system.multicall",
  "system.methodSignature",
  "system.pipeline_network_map",
  "system.get_master_certificate",
  "__proto__",
  "constructor",
  "scheduler.__proto__.x",
  "",
];

/** Strings an attacker tries: control characters, paths, huge and odd numbers, markup, YAML. */
const STRINGS = [
  "",
  "1",
  "0",
  "-1",
  "99999999999999999999",
  "1e999",
  "NaN",
  "qemu",
  "admin",
  "../../etc/passwd",
  "a\u0000b",
  "\u202e\ufeff",
  "<![CDATA[x]]>",
  "{{ 7*7 }}",
  "{% include '/etc/passwd' %}",
  "device_type: qemu\njob_name: x\nactions: []\n",
  "job_name: x\nvisibility: {group: [nosuch]}\n",
  "&a [*a, *a, *a]",
  "'",
  '"',
  "x".repeat(5000),
  "\ud800",
  "Running",
  "Bad",
];

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function xmlValue(r: Random, depth = 0): string {
  const kinds = depth > 3 ? 7 : 10;
  switch (r.int(kinds)) {
    case 0:
      return `<int>${r.pick(["0", "1", "-1", "2147483648", "99999999999999999999", "x", "", "1.5"])}</int>`;
    case 1:
      return `<string>${xmlEscape(r.pick(STRINGS))}</string>`;
    case 2:
      return `<boolean>${r.pick(["0", "1", "2", "true", ""])}</boolean>`;
    case 3:
      return `<double>${r.pick(["1.5", "nan", "inf", "-1e400", "x"])}</double>`;
    case 4:
      return `<base64>${r.pick(["aGVsbG8=", "!!!", "", "a"])}</base64>`;
    case 5:
      return `<dateTime.iso8601>${r.pick(["20261203T00:00:00", "x", "99999999T99:99:99"])}</dateTime.iso8601>`;
    case 6:
      return r.pick(["<nil/>", "", "<i8>1</i8>", "<unknown>1</unknown>", xmlEscape(r.pick(STRINGS))]);
    case 7:
      return `<array><data>${
        Array.from({ length: r.int(4) }, () => `<value>${xmlValue(r, depth + 1)}</value>`).join("")
      }</data></array>`;
    case 8: {
      const members = Array.from({ length: r.int(4) }, () => {
        const name = r.pick(["__proto__", "constructor", "name", "name", "", "x".repeat(300), "definition"]);
        return `<member><name>${xmlEscape(name)}</name><value>${xmlValue(r, depth + 1)}</value></member>`;
      });
      return `<struct>${members.join("")}</struct>`;
    }
    default:
      // Deeper than any legitimate call.
      return "<array><data><value>".repeat(200) + "</value></data></array>".repeat(200);
  }
}

function mutate(r: Random, text: string): string {
  const chars = [...text];
  for (let n = r.int(8) + 1; n > 0; n--) {
    const at = r.int(chars.length + 1);
    switch (r.int(3)) {
      case 0:
        chars.splice(at, r.int(20));
        break;
      case 1:
        chars.splice(at, 0, r.pick(["<", ">", "&", "\u0000", "]]>", "<value>", "</param>", "&#0;", "&lt"]));
        break;
      default:
        chars.splice(at, 1, String.fromCharCode(r.int(0x3000)));
    }
  }
  return chars.join("");
}

function rpcBody(r: Random): string {
  const call = () =>
    `<?xml version="1.0"?><methodCall><methodName>${xmlEscape(r.pick(RPC_METHODS))}</methodName><params>${
      Array.from({ length: r.int(4) }, () => `<param><value>${xmlValue(r)}</value></param>`).join("")
    }</params></methodCall>`;
  switch (r.int(6)) {
    case 0:
    case 1:
    case 2:
      return call();
    case 3:
      return mutate(r, call());
    case 4:
      return `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>` +
        `<methodCall><methodName>system.version&b;</methodName></methodCall>`;
    default:
      return Array.from({ length: r.int(200) }, () => String.fromCharCode(r.int(0x80))).join("");
  }
}

const ROUTES: readonly [string, string][] = [
  ["GET", "/api/v1/jobs"],
  ["POST", "/api/v1/jobs"],
  ["GET", "/api/v1/jobs/:id"],
  ["GET", "/api/v1/jobs/:id/logs"],
  ["GET", "/api/v1/jobs/:id/results.csv"],
  ["GET", "/api/v1/jobs/:id/results.yaml"],
  ["POST", "/api/v1/jobs/:id/cancel"],
  ["POST", "/api/v1/jobs/:id/resubmit"],
  ["GET", "/api/v1/actors/:id/:id/history"],
  ["GET", "/api/v1/devices"],
  ["GET", "/api/v1/devices/:id"],
  ["GET", "/api/v1/devices/:id/dictionary"],
  ["PUT", "/api/v1/devices/:id/dictionary"],
  ["POST", "/api/v1/devices/:id/health"],
  ["GET", "/api/v1/workers/:id"],
  ["POST", "/api/v1/workers/:id/health"],
  ["GET", "/api/v1/device-types"],
  ["GET", "/api/v1/system/status"],
  ["GET", "/api/v1/system/whoami"],
  ["GET", "/results/:id/csv"],
  ["GET", "/results/:id/yaml"],
  ["GET", "/api/v1/nosuch"],
  ["GET", "/api/v0.2/jobs/"],
  ["POST", "/api/v0.2/jobs/"],
  ["GET", "/api/v0.2/jobs/:id/"],
  ["GET", "/api/v0.2/jobs/:id"],
  ["GET", "/api/v0.2/jobs/:id/logs/"],
  ["GET", "/api/v0.2/jobs/:id/tests/"],
  ["GET", "/api/v0.2/jobs/:id/suites/:id/tests/:id/"],
  ["GET", "/api/v0.2/jobs/:id/junit/"],
  ["GET", "/api/v0.2/jobs/:id/tap13/"],
  ["GET", "/api/v0.2/jobs/:id/cancel/"],
  ["POST", "/api/v0.2/jobs/:id/resubmit/"],
  ["POST", "/api/v0.2/jobs/validate/"],
  ["POST", "/api/v0.2/jobs/validate_testdef/"],
  ["POST", "/api/v0.2/jobs/batch-cancel/"],
  ["GET", "/api/v0.2/devices/"],
  ["POST", "/api/v0.2/devices/"],
  ["PATCH", "/api/v0.2/devices/:id/"],
  ["POST", "/api/v0.2/devices/:id/dictionary/"],
  ["POST", "/api/v0.2/devices/:id/set_health/"],
  ["GET", "/api/v0.2/devicetypes/:id/template/"],
  ["POST", "/api/v0.2/devicetypes/"],
  ["GET", "/api/v0.2/workers/:id/env/"],
  ["POST", "/api/v0.2/permissions/devicetypes/"],
  ["DELETE", "/api/v0.2/permissions/devices/:id/"],
  ["GET", "/api/v0.2/users/"],
  ["POST", "/api/v0.2/remote-artifact-tokens/"],
  ["GET", "/api/v0.2/system/whoami/"],
  // LAVA's HTTP worker API, for lava-worker and lava-run.
  ["GET", "/scheduler/internal/v1/workers/:id/"],
  ["POST", "/scheduler/internal/v1/workers/"],
  ["GET", "/scheduler/internal/v1/jobs/:id/"],
  ["POST", "/scheduler/internal/v1/jobs/:id/"],
  ["POST", "/scheduler/internal/v1/jobs/:id/logs/"],
];
const SEGMENTS = [
  "1",
  "0",
  "-1",
  "2",
  "1.1",
  "99999999999999999999",
  "abc",
  "qemu01",
  "job",
  "device",
  "worker",
  "%00",
  "..%2F..%2Fetc",
  "%E0%80%AF",
  "%",
  "x".repeat(3000),
  "__proto__",
  "lava-fuzz",
];
const QUERY_KEYS = [
  "offset",
  "limit",
  "start",
  "end",
  "levels",
  "state",
  "health",
  "all",
  "after",
  "page",
  "x",
  "state__in",
  "submit_time__gt",
  "id__in",
  "ordering",
  "tags__name",
  "description__icontains",
  "failure_comment__isnull",
  "result",
  "classname_prefix",
  "version",
];

/** Percent-encoded, with a lone surrogate sent as the invalid UTF-8 it would be. */
function encodeQuery(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, "\u0001")).replace(/%01/g, "%ED%A0%80");
}

function restRequest(r: Random): { method: string; path: string; body?: string; type?: string } {
  const [routeMethod, template] = r.pick(ROUTES);
  const path = template.replace(/:id/g, () => r.pick(SEGMENTS));
  const query = Array.from({ length: r.int(3) }, () => `${r.pick(QUERY_KEYS)}=${encodeQuery(r.pick(STRINGS))}`);
  const method = r.int(8) === 0 ? r.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) : routeMethod;
  const full = query.length > 0 ? `${path}?${query.join("&")}` : path;
  if (method === "GET" || method === "OPTIONS") return { method, path: full };
  const bodies = [
    () => JSON.stringify({ definition: r.pick(STRINGS) }),
    () =>
      JSON.stringify({
        hostname: r.pick(STRINGS),
        device_type: r.pick(STRINGS),
        worker_host: r.pick(STRINGS),
        group: r.pick(STRINGS),
        permission: r.pick(["view_devicetype", "submit_to_device", r.pick(STRINGS)]),
        job_ids: r.pick([[1, "x", null], "1", [r.pick(STRINGS)]]),
        name: r.pick(STRINGS),
        token: r.pick(STRINGS),
      }),
    () =>
      JSON.stringify({
        health: r.pick(["Good", "Bad", "Maintenance", "Retired", "x", 1, null]),
        reason: r.pick(STRINGS),
      }),
    () => JSON.stringify(r.pick([[], 1, "x", null, { __proto__: { a: 1 } }])),
    () => mutate(r, JSON.stringify({ definition: "job_name: x", health: "Good" })),
    () => r.pick(STRINGS),
    // lava-worker's and lava-run's forms.
    () =>
      new URLSearchParams({
        lines: r.pick([
          r.pick(STRINGS),
          mutate(r, '- {"dt": "2026-01-01T00:00:00", "lvl": "info", "msg": "x"}'),
          '- {"dt": "2026-01-01T00:00:00", "lvl": "results", "msg": {"definition": "lava", "case": "job"}}',
        ]),
        index: r.pick(["0", "-1", "99999999999", r.pick(STRINGS)]),
        state: r.pick(["RUNNING", "FINISHED", "Canceling", r.pick(STRINGS)]),
        result: r.pick(["pass", "fail", r.pick(STRINGS)]),
        name: r.pick(STRINGS),
        description: r.pick(STRINGS),
      }).toString(),
  ];
  const body = r.pick(bodies)();
  const form = body.startsWith("lines=");
  return {
    method,
    path: full,
    body,
    type: form ? "application/x-www-form-urlencoded" : r.pick(["application/json", "text/plain", ""]),
  };
}

Deno.test("10,000 malformed and random requests to /RPC2, /api/v1, /api/v0.2 and the LAVA worker API get answers, never a 5xx or an internal fault", async () => {
  const lab = await startTestLab();
  try {
    const db = lab.master.storage.db;
    await addUser(db, { username: "fuzzer" });
    const { token: userToken } = await issueToken(db, "fuzzer");
    const credentials = [undefined, `admin:${lab.token}`, `fuzzer:${userToken}`, "admin:wrong"];
    await lab.addLavaWorker("lava-fuzz", LAVA_TOKEN);
    const r = random(SEED);
    const plans = Array.from({ length: REQUESTS }, () => {
      const auth = r.pick(credentials);
      // LAVA's REST clients send `Token SECRET`, lavacli Basic user:token: both, at random.
      const headers: Record<string, string> = !auth
        ? {}
        : r.int(2) === 0
        ? { Authorization: `Basic ${btoa(auth)}` }
        : { Authorization: `Token ${auth.slice(auth.indexOf(":") + 1)}` };
      if (r.int(2) === 0) return { method: "POST", path: "/RPC2", body: rpcBody(r), headers };
      const rest = restRequest(r);
      if (rest.type) headers["Content-Type"] = rest.type;
      if (rest.path.startsWith("/scheduler/")) {
        headers["LAVA-Token"] = r.pick([LAVA_TOKEN, "wrong", "", "x".repeat(5000), "%00"]);
      }
      return { method: rest.method, path: rest.path, body: rest.body, headers };
    });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const runner = async () => {
      while (next < plans.length) {
        const plan = plans[next++];
        const response = await fetch(`${lab.master.url}${plan.path}`, {
          method: plan.method,
          headers: plan.headers,
          body: plan.body,
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // XML-RPC answers a failure with status 200 and a fault: code 500 is the master's own failure.
        const internal = response.status >= 500 || /<name>faultCode<\/name>\s*<value><int>500</.test(text);
        if (internal && failures.length < 10) {
          failures.push(
            `${response.status} ${plan.method} ${plan.path.slice(0, 200)} ${(plan.body ?? "").slice(0, 300)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, runner));
    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    assertEquals(answered, REQUESTS);
    assert(failures.length === 0, `server errors (seed ${SEED}):\n${failures.join("\n")}`);
    const version = await lab.api("GET", "/api/v1/system/version");
    assertEquals(version.status, 200);
    console.log("statuses:", Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
  } finally {
    await lab.close();
  }
});
