import { parse } from "yaml";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { MAX_JOB_FILE_CHARS } from "../../actors/lab/protocol.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";
import { forBasaltDispatcher, prepareJobStart, startProblem } from "./job_start.ts";

const SUBJOB = `job_name: mn
context: {extra: on}
protocols:
  lava-multinode: {role: server, group_size: 2, target_group: g1}
actions: []
`;

Deno.test("a single-node job's start carries its definition as stored and its device rendered with its context", () => {
  const contexts: unknown[] = [];
  const start = prepareJobStart({
    job: 12,
    definition: "job_name: one\ncontext: {console_device: ttyS1}\n",
    render: (context) => (contexts.push(context), "device_type: qemu\n"),
    worker: { dispatcherConfig: "prefix: x\n", envDut: "overrides: {}\n" },
  });
  assertEquals(start, {
    job: "12",
    definition: "job_name: one\ncontext: {console_device: ttyS1}\n",
    device: "device_type: qemu\n",
    dispatcher: "prefix: x\n",
    envDut: "overrides: {}\n",
  });
  assertEquals(contexts, [{ console_device: "ttyS1" }]);
});

Deno.test("a Basalt dispatcher is sent the JSON of what its YAML reading gives, and reads it the same", () => {
  const definition = "job_name: one\nreboot: yes\ntimeouts:\n  job: {minutes: 2}\n";
  const device = "device_type: qemu\nactions:\n  boot:\n    methods: {qemu: {}}\n";
  const sent = forBasaltDispatcher({ job: "12", definition, device, dispatcher: "prefix: x\n" });
  assertEquals(sent, {
    job: "12",
    definition: '{"job_name":"one","reboot":true,"timeouts":{"job":{"minutes":2}}}',
    device: '{"device_type":"qemu","actions":{"boot":{"methods":{"qemu":{}}}}}',
    dispatcher: "prefix: x\n",
  });
  assertEquals(loadYaml(sent.definition).value, loadYaml(definition).value);
  assertEquals(loadYaml(sent.device).value, loadYaml(device).value);
});

Deno.test("text JSON cannot carry exactly, or that would not fit a message as JSON, is sent as it is", () => {
  const texts = [
    "job_name: t\nwhen: 2024-01-01\n",
    "job_name: t\nlimit: .inf\n",
    "job_name: t\nbig: 1.0e+30\n",
    "not: [valid\n",
  ];
  for (const text of texts) {
    assertEquals(forBasaltDispatcher({ job: "1", definition: text, device: "d: 1\n" }).definition, text);
  }
  // Aliases expanded past what a message carries: the start goes as it was.
  const bomb = `a: &a [${"x".repeat(200_000)}]\n` + Array.from({ length: 60 }, (_, i) => `b${i}: *a\n`).join("");
  const start = { job: "1", definition: bomb, device: "d: 1\n" };
  assertEquals(startProblem(start), undefined);
  assertEquals(forBasaltDispatcher(start), start);
});

Deno.test("a worker without configuration adds no dispatcher or env-dut file", () => {
  const start = prepareJobStart({ job: 1, definition: "job_name: a\n", render: () => "d: 1\n" });
  assertEquals(Object.keys(start).sort(), ["definition", "device", "job"]);
});

Deno.test("a MultiNode sub-job's start names every role of its group and the coordinator", () => {
  const start = prepareJobStart({
    job: 21,
    definition: SUBJOB,
    roles: { "21": "server", "22": "client" },
    render: () => "d: 1\n",
    worker: { dispatcherConfig: "prefix: lab\n", envDut: "" },
    coordinator: { host: "10.0.0.1", port: 3079 },
  });
  const definition = parse(start.definition);
  assertEquals(definition.protocols["lava-multinode"].roles, { "21": "server", "22": "client" });
  assertEquals(parse(start.dispatcher!), { prefix: "lab", coordinator_hostname: "10.0.0.1", coordinator_port: 3079 });
});

Deno.test("a device that cannot be rendered stops the start with the renderer's error", () => {
  assertThrows(
    () =>
      prepareJobStart({
        job: 1,
        definition: "job_name: a\n",
        render: () => {
          throw new Error("no template for bbb");
        },
      }),
    Error,
    "no template for bbb",
  );
});

Deno.test("a start the worker would take has no problem", () => {
  assertEquals(startProblem({ job: "1", definition: "a: 1\n", device: "d: 1\n" }), undefined);
});

Deno.test("a start the worker would refuse names the field at fault", () => {
  const problem = startProblem({ job: "1", definition: "a: 1\n", device: "x".repeat(MAX_JOB_FILE_CHARS + 1) });
  assert(problem);
  assertStringIncludes(problem, "device is larger than");
});

Deno.test("a start larger than a mailbox message carries is a problem, counted in UTF-8 bytes", () => {
  // Each file is within its own limit; together, in bytes, they are not.
  const wide = "é".repeat(MAX_JOB_FILE_CHARS - 10);
  const problem = startProblem({ job: "1", definition: wide, device: wide });
  assert(problem);
  assertStringIncludes(problem, "larger than a mailbox carries");
});

Deno.test("an SSH guest starts with its host role's device configuration without the device's commands", () => {
  const start = prepareJobStart({
    job: 22,
    definition: SUBJOB.replace("role: server", "role: guest") + "connection: ssh\nhost_role: server\n",
    roles: { "21": "server", "22": "guest" },
    render: () => "hostname: bbb01\ncommands: {power_off: pduclient off, connect: telnet x 1}\nactions: {deploy: {}}\n",
    connection: true,
  });
  assertEquals(parse(start.device), { hostname: "bbb01", actions: { deploy: {} } });
});
