import { parse, stringify } from "yaml";
import { validateJob } from "../../actors/definitions/job_schema.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { reservationDefinition } from "./reservations.ts";

const BOOT = stringify({
  job_name: "boot to a shell",
  device_type: "qemu",
  priority: "high",
  visibility: "personal",
  tags: ["usb"],
  context: { arch: "amd64" },
  timeouts: { job: { minutes: 10 }, action: { minutes: 2 } },
  actions: [
    { deploy: { to: "tmpfs", images: { kernel: { url: "http://example.invalid/vmlinuz" } } } },
    { boot: { method: "qemu", media: "tmpfs", prompts: ["/ # "] } },
    { test: { timeout: { minutes: 5 }, definitions: [] } },
  ],
});

Deno.test("a reservation without a boot job is the reservation alone, on the named device, for its minutes", () => {
  const text = reservationDefinition({ device: "qemu01", deviceType: "qemu", minutes: 45 }, "alice");
  assertEquals(validateJob(text, { file: "reservation" }).valid, true);
  assertEquals(parse(text), {
    job_name: "reservation of qemu01 by alice",
    device_type: "qemu",
    device: "qemu01",
    priority: "medium",
    visibility: "public",
    timeouts: { job: { seconds: 45 * 60 + 60 } },
    actions: [{ test: { timeout: { minutes: 45 }, reservation: {} } }],
  });
});

Deno.test("a boot job's deploy and boot run first, its tests are left out, and the job's time covers both", () => {
  const text = reservationDefinition({ deviceType: "qemu", tags: ["fast"], boot: BOOT }, "alice");
  assertEquals(validateJob(text, { file: "reservation" }).valid, true);
  const job = parse(text);
  assertEquals(job.job_name, "reservation of qemu by alice: boot to a shell");
  assertEquals(job.tags, ["usb", "fast"]);
  assertEquals([job.priority, job.visibility, job.context], ["high", "personal", { arch: "amd64" }]);
  assertEquals(job.timeouts, { job: { seconds: 600 + 30 * 60 + 60 }, action: { minutes: 2 } });
  assertEquals(job.actions.map((a: Record<string, unknown>) => Object.keys(a)[0]), ["deploy", "boot", "test"]);
  assertEquals(job.actions[2], { test: { timeout: { minutes: 30 }, reservation: {} } });
});

Deno.test("a reservation's own mistakes are refused, saying which", () => {
  const refused = (request: Parameters<typeof reservationDefinition>[0]) =>
    assertThrows(() => reservationDefinition(request, "alice")).message;
  assertStringIncludes(refused({ deviceType: "qemu", minutes: 0 }), "minutes: a reservation lasts 1 to 1440");
  assertStringIncludes(refused({ deviceType: "qemu", minutes: 2.5 }), "whole minutes");
  assertStringIncludes(refused({}), "device_type: name the device type");
  assertStringIncludes(refused({ deviceType: "qemu", boot: "actions: [\n" }), "boot: line");
  assertStringIncludes(refused({ deviceType: "qemu", boot: "- a list" }), "boot: a job definition is a mapping");
  assertStringIncludes(
    refused({
      deviceType: "qemu",
      boot: stringify({ protocols: { "lava-multinode": { roles: {} } }, actions: [] }),
    }),
    "MultiNode",
  );
});
