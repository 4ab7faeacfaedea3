import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { lavaReference } from "../../tests/support/lava_examples.ts";
import { DeviceHealth } from "../../actors/domain/states.ts";
import { Catalog } from "./catalog.ts";
import { planSubmission, SubmissionError } from "./submission.ts";
import { NOTIFY_LIMITS } from "./webhooks.ts";
import { MAX_JOB_FILE_CHARS } from "../../actors/lab/protocol.ts";
import { stringify } from "yaml";

Deno.test("an LXC job, valid as in LAVA 2023.01, is refused at submission naming each use and the way out", () => {
  const text = Deno.readTextFileSync(
    lavaReference("usr/share/doc/lava-server-doc/html/v2/examples/test-jobs/lxc-debian.yaml"),
  );
  const error = assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "actions[0].deploy.to");
  for (const part of ["protocols.lava-lxc", "actions[1].boot.method", "LXC is no longer supported", "docker"]) {
    if (!error.message.includes(part)) throw new Error(`the refusal lacks ${part}: ${error.message}`);
  }
});

Deno.test("a job with more notification callbacks than the bound is refused at submission", () => {
  const callbacks = Array.from({ length: NOTIFY_LIMITS.callbacks + 1 }, (_, i) => ({ url: `http://example.com/${i}` }));
  const text = stringify({
    job_name: "chatty",
    device_type: "qemu",
    visibility: "public",
    priority: "medium",
    timeouts: { job: { minutes: 5 } },
    notify: { criteria: { status: "finished" }, callbacks },
    actions: [{ boot: { method: "qemu", media: "tmpfs", prompts: ["# "] } }],
  });
  assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "notify.callbacks");
});

Deno.test("a definition larger than a worker takes is refused at submission", () => {
  const text = `job_name: big\n# ${"x".repeat(MAX_JOB_FILE_CHARS)}\n`;
  assertThrows(() => planSubmission(new Catalog(), text), SubmissionError, "characters; at most");
});

/** A lab of `devices` (hostname → [type, worker, tags]), every one alive. */
function lab(devices: Record<string, [string, string, string[]?]>, aliases: Record<string, string> = {}): Catalog {
  const catalog = new Catalog();
  for (const type of new Set(Object.values(devices).map(([type]) => type))) {
    catalog.deviceTypes.set(type, {
      name: type,
      description: "",
      display: true,
      healthFrequency: 24,
      healthDenominator: "hours",
      disableHealthCheck: false,
      retentionDays: null,
    });
  }
  for (const [alias, type] of Object.entries(aliases)) catalog.aliases.set(alias, type);
  for (const [hostname, [deviceType, worker, tags]] of Object.entries(devices)) {
    catalog.devices.set(hostname, {
      hostname,
      deviceType,
      worker,
      description: "",
      tags: tags ?? [],
      isPublic: true,
      dictionary: null,
      storedHealth: DeviceHealth.byName.Good,
      lastHealthReportJob: null,
      physicalOwner: null,
      physicalGroup: null,
    });
  }
  return catalog;
}

const QEMU_ACTIONS = [
  { deploy: { to: "tmpfs", images: { rootfs: { url: "http://example.com/rootfs.img" } } } },
  { boot: { method: "qemu", media: "tmpfs", prompts: ["# "] } },
];

function single(extra: Record<string, unknown> = {}): string {
  return stringify({
    job_name: "single",
    device_type: "qemu",
    visibility: "public",
    timeouts: { job: { minutes: 5 } },
    actions: QEMU_ACTIONS,
    ...extra,
  });
}

function multinode(roles: Record<string, Record<string, unknown>>): string {
  return stringify({
    job_name: "pair",
    visibility: "public",
    timeouts: { job: { minutes: 5 } },
    protocols: { "lava-multinode": { roles, timeout: { minutes: 5 } } },
    actions: [
      { deploy: { ...QEMU_ACTIONS[0].deploy, role: Object.keys(roles) } },
      { boot: { ...QEMU_ACTIONS[1].boot, role: Object.keys(roles) } },
    ],
  });
}

Deno.test("a single job is planned on its device type, with its tags, requested device and the methods it uses", () => {
  const catalog = lab({ q1: ["qemu", "w1", ["kvm"]], q2: ["qemu", "w2"] });
  const [plan] = planSubmission(catalog, single({ tags: ["kvm"] }));
  assertEquals([plan.deviceType, plan.tags, plan.role], ["qemu", ["kvm"], undefined]);
  assertEquals(plan.requires, { deploy: ["tmpfs"], boot: ["qemu"], test: [] });
  assertThrows(() => planSubmission(catalog, single({ tags: ["gpu"] })), SubmissionError, "with tags gpu");
});

Deno.test("a job naming a device type's alias is planned on the type itself", () => {
  const catalog = lab({ q1: ["qemu", "w1"] }, { "x86-vm": "qemu" });
  assertEquals(planSubmission(catalog, single({ device_type: "x86-vm" }))[0].deviceType, "qemu");
});

Deno.test("a MultiNode job splits into one sub-job per device its roles count, each with its role's device type and tags", () => {
  const catalog = lab({ q1: ["qemu", "w1"], q2: ["qemu", "w1"], q3: ["qemu", "w2", ["big"]], b1: ["bbb", "w2"] });
  const plans = planSubmission(
    catalog,
    multinode({
      server: { device_type: "qemu", count: 1, tags: ["big"] },
      client: { device_type: "qemu", count: 2 },
      board: { device_type: "bbb", count: 1 },
    }),
  );
  assertEquals(plans.map((p) => [p.role, p.deviceType, p.tags, p.index]), [
    ["server", "qemu", ["big"], 0],
    ["client", "qemu", [], 1],
    ["client", "qemu", [], 2],
    ["board", "bbb", [], 3],
  ]);
  const groups = new Set(plans.map((p) => {
    const protocol = (p.definition.protocols as Record<string, Record<string, unknown>>)["lava-multinode"];
    return protocol.target_group;
  }));
  assertEquals(groups.size, 1);
});

function withGuests(roles: Record<string, Record<string, unknown>>, guestActions?: Record<string, unknown>[]): string {
  return stringify({
    job_name: "guests",
    visibility: "public",
    timeouts: { job: { minutes: 5 } },
    protocols: { "lava-multinode": { roles, timeout: { minutes: 5 } } },
    actions: [
      { deploy: { ...QEMU_ACTIONS[0].deploy, role: ["host"] } },
      { boot: { ...QEMU_ACTIONS[1].boot, role: ["host"] } },
      ...(guestActions ?? [
        { deploy: { to: "ssh", os: "debian", role: ["guest"] } },
        { boot: { method: "ssh", connection: "ssh", prompts: ["# "], role: ["guest"] } },
      ]),
    ],
  });
}

Deno.test("a MultiNode job's SSH guests need no device: they are planned with their host role, which must be one device", () => {
  const catalog = lab({ q1: ["qemu", "w1"] });
  const guest = { connection: "ssh", count: 3, host_role: "host", expect_role: "host", request: "lava-start" };
  const plans = planSubmission(catalog, withGuests({ host: { device_type: "qemu", count: 1 }, guest }));
  assertEquals(plans.map((p) => [p.role, p.deviceType, p.hostRole]), [
    ["host", "qemu", undefined],
    ["guest", "", "host"],
    ["guest", "", "host"],
    ["guest", "", "host"],
  ]);
  assertEquals(plans[1].definition.connection, "ssh");
  const refused = (
    roles: Record<string, Record<string, unknown>>,
    message: string,
    actions?: Record<string, unknown>[],
  ) => assertThrows(() => planSubmission(catalog, withGuests(roles, actions)), SubmissionError, message);
  const host = { device_type: "qemu", count: 1 };
  refused({ host: { ...host, count: 2 }, guest }, "its host role host must have a count of 1");
  refused({ host, guest: { ...guest, host_role: "nobody" } }, 'host_role "nobody" is not a role with a device');
  refused({ host, guest: { ...guest, connection: "adb" } }, "only ssh is supported");
  refused({ host, guest: { ...guest, count: 1e7 } }, "10000000 secondary connections; at most 64");
  // A guest runs with its host's device configuration: it may not deploy to or boot that device otherwise.
  refused(
    { host, guest },
    "actions.2.deploy: role guest is a secondary connection",
    [{ deploy: { ...QEMU_ACTIONS[0].deploy, role: ["guest"] } }],
  );
});

Deno.test("a MultiNode job needing more devices than fit its roles is refused naming the role", () => {
  const catalog = lab({ q1: ["qemu", "w1"], q2: ["qemu", "w1"], b1: ["bbb", "w1"] });
  assertThrows(
    () => planSubmission(catalog, multinode({ a: { device_type: "qemu", count: 4 } })),
    SubmissionError,
    "asks for 4 devices; the lab has 3",
  );
  assertThrows(
    () => planSubmission(catalog, multinode({ a: { device_type: "qemu", count: 3 } })),
    SubmissionError,
    "role a: the job needs 3 devices of type qemu; the lab has 2",
  );
  assertThrows(
    () =>
      planSubmission(catalog, multinode({ a: { device_type: "bbb", count: 2 }, b: { device_type: "qemu", count: 1 } })),
    SubmissionError,
    "role a: the job needs 2 devices of type bbb; the lab has 1",
  );
  assertThrows(
    () => planSubmission(catalog, multinode({ a: { device_type: "nosuch", count: 1 } })),
    SubmissionError,
    "role a: device type nosuch does not exist (known types: bbb, qemu)",
  );
});

Deno.test("a job is refused naming what is wrong: its schema error's field, an unknown type, a retired type", () => {
  const catalog = lab({ q1: ["qemu", "w1"] });
  assertThrows(() => planSubmission(catalog, single({ visibility: "secret" })), SubmissionError, "visibility");
  assertThrows(
    () => planSubmission(catalog, single({ device_type: "bbb" })),
    SubmissionError,
    "device type bbb does not exist",
  );
  catalog.devices.set("q1", { ...catalog.devices.get("q1")!, storedHealth: DeviceHealth.byName.Retired });
  assertThrows(() => planSubmission(catalog, single()), SubmissionError, "every device of type qemu is Retired");
});

Deno.test("a job no worker serving its type runs is refused naming the methods; a worker that never said is trusted", () => {
  const catalog = lab({ q1: ["qemu", "w1"], q2: ["qemu", "w2"] });
  const runs = { deploy: ["tmpfs"], boot: ["minimal"], test: ["definitions"] };
  const error = assertThrows(
    () => planSubmission(catalog, single(), {}, () => runs),
    SubmissionError,
    "device type qemu: no worker runs boot method qemu",
  );
  assertStringIncludes(error.message, "workers w1, w2 run boot: minimal");
  // One worker that never said what it runs: the job may run there.
  assertEquals(planSubmission(catalog, single(), {}, (w) => w === "w1" ? runs : undefined).length, 1);
});
