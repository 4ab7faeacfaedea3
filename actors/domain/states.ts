/**
 * LAVA's state and health vocabularies with their exact integer codes. Third-party
 * clients read both the display strings and the numbers, so neither may drift.
 */
import { defineCodes } from "./codes.ts";

export const JobState = defineCodes("job state", [
  "Submitted",
  "Scheduling",
  "Scheduled",
  "Running",
  "Canceling",
  "Finished",
]);

export const JobHealth = defineCodes("job health", [
  "Unknown",
  "Complete",
  "Incomplete",
  "Canceled",
]);

export const DeviceState = defineCodes("device state", ["Idle", "Reserved", "Running"]);

export const DeviceHealth = defineCodes("device health", [
  "Good",
  "Unknown",
  "Looping",
  "Bad",
  "Maintenance",
  "Retired",
]);

export const WorkerState = defineCodes("worker state", ["Online", "Offline"]);

export const WorkerHealth = defineCodes("worker health", ["Active", "Maintenance", "Retired"]);

/** Result of a test case as LAVA stores it (0 pass, 1 fail, 2 skip, 3 unknown). */
export const TestResult = defineCodes("test result", ["pass", "fail", "skip", "unknown"]);

/** Who may see a job: LAVA's `visibility` key. */
export const JobVisibility = defineCodes("job visibility", ["public", "personal", "group"]);

/** Job priority: an integer 0-100, or one of LAVA's three names. */
export const PRIORITY_NAMES = { low: 0, medium: 50, high: 100 } as const;
export const DEFAULT_PRIORITY = PRIORITY_NAMES.medium;

/** LAVA's single legacy status, derived from state and health; still read by old clients. */
export const LegacyJobStatus = defineCodes("job status", [
  "Submitted",
  "Running",
  "Complete",
  "Incomplete",
  "Canceled",
  "Canceling",
]);

/** Maps a job's state and health onto the legacy status the way LAVA does. */
export function legacyJobStatus(state: number, health: number): number {
  const s = JobState.byName;
  const h = JobHealth.byName;
  const l = LegacyJobStatus.byName;
  if (state <= s.Scheduled) return l.Submitted;
  if (state === s.Running) return l.Running;
  if (state === s.Canceling) return l.Canceling;
  if (health === h.Complete) return l.Complete;
  if (health === h.Canceled) return l.Canceled;
  return l.Incomplete;
}
