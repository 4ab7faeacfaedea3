import { assertEquals } from "../../tests/support/assert.ts";
import { HealthSchedule } from "./health_schedule.ts";

const HOURS = { healthFrequency: 24, healthDenominator: "hours" };
const JOBS = { healthFrequency: 3, healthDenominator: "jobs" };

function schedule(now: number) {
  const woken: string[] = [];
  const health = new HealthSchedule((h) => woken.push(h), () => now);
  return { health, woken };
}

Deno.test("an Unknown or Looping device is always due a health check", () => {
  const { health } = schedule(0);
  health.healthChecked("d1", 0);
  assertEquals([health.isDue("d1", "Unknown", HOURS), health.isDue("d1", "Looping", JOBS)], [true, true]);
});

Deno.test("a device with no health check on record is due one", () => {
  const { health } = schedule(0);
  assertEquals(health.isDue("d1", "Good", HOURS), true);
});

Deno.test("an hours rule is due once the frequency has passed since the last check was submitted", () => {
  const { health } = schedule(25 * 3_600_000);
  health.healthChecked("d1", 0);
  health.healthChecked("d2", 2 * 3_600_000);
  assertEquals([health.isDue("d1", "Good", HOURS), health.isDue("d2", "Good", HOURS)], [true, false]);
  health.close();
});

Deno.test("an hours rule not due yet wakes the scheduler when it is", async () => {
  const { health, woken } = schedule(24 * 3_600_000 - 2);
  health.healthChecked("d1", 0);
  assertEquals(health.isDue("d1", "Good", HOURS), false);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals(woken, ["d1"]);
});

Deno.test("a jobs rule is due after that many other jobs, and a new check starts the count again", () => {
  const { health } = schedule(0);
  health.healthChecked("d1", 0);
  for (let i = 0; i < 2; i++) health.jobStarted("d1");
  assertEquals(health.isDue("d1", "Good", JOBS), false);
  health.jobStarted("d1");
  assertEquals(health.isDue("d1", "Good", JOBS), true);
  health.healthChecked("d1", 0);
  assertEquals(health.isDue("d1", "Good", JOBS), false);
});
