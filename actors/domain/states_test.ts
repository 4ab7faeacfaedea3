import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { UnknownCodeError } from "./codes.ts";
import {
  DeviceHealth,
  DeviceState,
  JobHealth,
  JobState,
  LegacyJobStatus,
  legacyJobStatus,
  TestResult,
  WorkerHealth,
  WorkerState,
} from "./states.ts";

Deno.test("state and health codes are LAVA's integers", () => {
  assertEquals(JobState.names, ["Submitted", "Scheduling", "Scheduled", "Running", "Canceling", "Finished"]);
  assertEquals(JobState.byName.Finished, 5);
  assertEquals(JobHealth.names, ["Unknown", "Complete", "Incomplete", "Canceled"]);
  assertEquals(DeviceState.names, ["Idle", "Reserved", "Running"]);
  assertEquals(DeviceHealth.names, ["Good", "Unknown", "Looping", "Bad", "Maintenance", "Retired"]);
  assertEquals(WorkerState.names, ["Online", "Offline"]);
  assertEquals(WorkerHealth.names, ["Active", "Maintenance", "Retired"]);
  assertEquals(TestResult.code("skip"), 2);
});

Deno.test("names parse in any letter case and codes round-trip", () => {
  assertEquals(DeviceHealth.parse("MAINTENANCE"), 4);
  assertEquals(DeviceHealth.parse("looping"), 2);
  assertEquals(JobState.parse(3), 3);
  assertEquals(JobState.name(JobState.parse("Running")), "Running");
});

Deno.test("an unknown name or code is refused with the list of valid ones", () => {
  const err = assertThrows(() => DeviceHealth.parse("Broken"), UnknownCodeError);
  assertEquals(
    err.message,
    'unknown device health "Broken": expected one of Good, Unknown, Looping, Bad, Maintenance, Retired',
  );
  assertThrows(() => JobHealth.name(7), UnknownCodeError);
  assertThrows(() => JobHealth.parse(1.5), UnknownCodeError);
});

Deno.test("the legacy status follows LAVA's mapping from state and health", () => {
  const s = JobState.byName, h = JobHealth.byName, l = LegacyJobStatus.byName;
  assertEquals(legacyJobStatus(s.Scheduled, h.Unknown), l.Submitted);
  assertEquals(legacyJobStatus(s.Running, h.Unknown), l.Running);
  assertEquals(legacyJobStatus(s.Canceling, h.Unknown), l.Canceling);
  assertEquals(legacyJobStatus(s.Finished, h.Complete), l.Complete);
  assertEquals(legacyJobStatus(s.Finished, h.Unknown), l.Incomplete);
  assertEquals(legacyJobStatus(s.Finished, h.Canceled), l.Canceled);
});
