import { assertEquals } from "../../tests/support/assert.ts";
import { MAX_TIMER_MS, timeoutSeconds, timerMs } from "./timeouts.ts";

Deno.test("a timeout's units add up to seconds", () => {
  assertEquals(timeoutSeconds({ minutes: 2 }), 120);
  assertEquals(timeoutSeconds({ seconds: 0 }), undefined);
});

Deno.test("a timeout longer than a timer can wait is capped rather than firing at once", () => {
  assertEquals(timerMs(90), 90_000);
  assertEquals(timerMs(30 * 86_400), MAX_TIMER_MS);
  assertEquals(timerMs(1e300 * 86_400), MAX_TIMER_MS);
  assertEquals(timerMs(-5), 0);
});
