import { createActor } from "xstate";
import { assertEquals } from "../../tests/support/assert.ts";
import { type DeviceEvent, type DeviceHealthName, deviceMachine, type JobOutcome } from "./device.ts";

function device(health: DeviceHealthName = "Good") {
  const actor = createActor(deviceMachine, { input: { hostname: "qemu01", health } });
  actor.start();
  const send = (event: DeviceEvent) => actor.send(event);
  const now = () => {
    const s = actor.getSnapshot();
    return { state: s.value, health: s.context.health, job: s.context.job, reason: s.context.reason };
  };
  return { send, now };
}

const ended = (outcome: Partial<JobOutcome> = {}): JobOutcome => ({
  healthCheck: false,
  health: "Complete",
  ...outcome,
});

Deno.test("a device starts Idle with the health it was given", () => {
  assertEquals(device("Unknown").now(), { state: "Idle", health: "Unknown", job: undefined, reason: undefined });
});

Deno.test("reserving an Idle device holds it for the job", () => {
  const d = device();
  d.send({ type: "reserve", job: "7" });
  assertEquals([d.now().state, d.now().job], ["Reserved", "7"]);
});

Deno.test("a job reported running on an Idle device takes it at once", () => {
  const d = device();
  d.send({ type: "run", job: "7" });
  assertEquals([d.now().state, d.now().job], ["Running", "7"]);
});

Deno.test("a Reserved device runs only the job that holds it", () => {
  const d = device();
  d.send({ type: "reserve", job: "7" });
  d.send({ type: "run", job: "8" });
  assertEquals(d.now().state, "Reserved");
  d.send({ type: "run", job: "7" });
  assertEquals(d.now().state, "Running");
});

Deno.test("only the job that holds a device releases it", () => {
  const d = device();
  d.send({ type: "reserve", job: "7" });
  d.send({ type: "release", job: "8", outcome: ended() });
  assertEquals(d.now().state, "Reserved");
  d.send({ type: "run", job: "7" });
  d.send({ type: "release", job: "8", outcome: ended() });
  assertEquals(d.now().state, "Running");
  d.send({ type: "release", job: "7", outcome: ended() });
  assertEquals(d.now(), { state: "Idle", health: "Good", job: undefined, reason: undefined });
});

Deno.test("a Reserved device is released when its job ends before running", () => {
  const d = device();
  d.send({ type: "reserve", job: "7" });
  d.send({ type: "release", job: "7", outcome: ended({ health: "Canceled" }) });
  assertEquals([d.now().state, d.now().health], ["Idle", "Good"]);
});

Deno.test("a busy device takes no second job", () => {
  const d = device();
  d.send({ type: "reserve", job: "7" });
  d.send({ type: "reserve", job: "8" });
  assertEquals(d.now().job, "7");
});

Deno.test("a passing health check makes the device Good and says which job passed", () => {
  const d = device("Unknown");
  d.send({ type: "reserve", job: "3" });
  d.send({ type: "release", job: "3", outcome: ended({ healthCheck: true }) });
  assertEquals(d.now(), { state: "Idle", health: "Good", job: undefined, reason: "health check 3 passed" });
});

Deno.test("a health check ending otherwise makes the device Bad", () => {
  for (const health of ["Incomplete", "Canceled"] as const) {
    const d = device("Good");
    d.send({ type: "run", job: "3" });
    d.send({ type: "release", job: "3", outcome: ended({ healthCheck: true, health }) });
    assertEquals([d.now().health, d.now().reason], ["Bad", `health check 3 ended ${health}`]);
  }
});

Deno.test("a health check's result does not overwrite a health an admin chose", () => {
  for (const health of ["Looping", "Maintenance", "Retired"] as const) {
    for (const result of ["Complete", "Incomplete"] as const) {
      const d = device(health);
      d.send({ type: "run", job: "3" });
      d.send({ type: "release", job: "3", outcome: ended({ healthCheck: true, health: result }) });
      assertEquals([d.now().state, d.now().health], ["Idle", health]);
    }
  }
});

Deno.test("an infrastructure error in a job makes a Good device Unknown", () => {
  for (const errorType of ["Infrastructure", "Bug", "Configuration"]) {
    const d = device("Good");
    d.send({ type: "run", job: "9" });
    d.send({ type: "release", job: "9", outcome: ended({ health: "Incomplete", errorType }) });
    assertEquals([d.now().health, d.now().reason], ["Unknown", `job 9: ${errorType} error`]);
  }
});

Deno.test("a job's own failure leaves the device's health alone", () => {
  for (const errorType of ["Job", "Test", undefined]) {
    const d = device("Good");
    d.send({ type: "run", job: "9" });
    d.send({ type: "release", job: "9", outcome: ended({ health: "Incomplete", errorType }) });
    assertEquals(d.now().health, "Good");
  }
});

Deno.test("an infrastructure error changes only a Good device", () => {
  for (const health of ["Unknown", "Bad", "Maintenance"] as const) {
    const d = device(health);
    d.send({ type: "run", job: "9" });
    d.send({ type: "release", job: "9", outcome: ended({ health: "Incomplete", errorType: "Infrastructure" }) });
    assertEquals(d.now().health, health);
  }
});

Deno.test("a cancelled job's infrastructure error leaves the device Good", () => {
  const d = device("Good");
  d.send({ type: "run", job: "9" });
  d.send({ type: "release", job: "9", outcome: ended({ health: "Canceled", errorType: "Infrastructure" }) });
  assertEquals(d.now().health, "Good");
});

Deno.test("a device that cannot be configured is Bad in any state, saying why", () => {
  const d = device("Good");
  d.send({ type: "invalid", reason: "Invalid device configuration: no template" });
  assertEquals(d.now(), {
    state: "Idle",
    health: "Bad",
    job: undefined,
    reason: "Invalid device configuration: no template",
  });
  d.send({ type: "reserve", job: "1" });
  d.send({ type: "invalid", reason: "again" });
  assertEquals([d.now().state, d.now().health], ["Reserved", "Bad"]);
});

Deno.test("an admin sets any health in any state, with a reason", () => {
  const d = device("Good");
  d.send({ type: "run", job: "1" });
  d.send({ type: "health", health: "Maintenance", reason: "admin" });
  assertEquals(d.now(), { state: "Running", health: "Maintenance", job: "1", reason: "admin" });
  d.send({ type: "release", job: "1", outcome: ended() });
  d.send({ type: "health", health: "Good", reason: "back" });
  assertEquals([d.now().state, d.now().health], ["Idle", "Good"]);
});

Deno.test("a reservation's end, however it ended, makes a Good device Unknown so it is checked before the next job", () => {
  for (const health of ["Complete", "Incomplete", "Canceled"] as const) {
    const d = device("Good");
    d.send({ type: "run", job: "12" });
    d.send({ type: "release", job: "12", outcome: ended({ health, reservation: true }) });
    assertEquals(d.now(), {
      state: "Idle",
      health: "Unknown",
      job: undefined,
      reason: "reservation 12 ended: the device is checked before the next job",
    });
  }
  const held = device("Maintenance");
  held.send({ type: "run", job: "12" });
  held.send({ type: "release", job: "12", outcome: ended({ reservation: true }) });
  assertEquals([held.now().state, held.now().health], ["Idle", "Maintenance"]);
});
