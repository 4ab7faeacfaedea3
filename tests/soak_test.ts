/**
 * The soak (bench/soak.ts) small enough for CI, checking correctness only,
 * never timing: a master, a coordinator, two workers and their dispatch
 * processes, a handful of simulated devices, single, MultiNode, cancelled and
 * failing jobs with live log followers and event subscribers attached — every
 * job ends as its kind calls for, and every line every job printed is stored
 * once and in order.
 */
import { assertEquals } from "./support/assert.ts";
import { runSoak, SOAK_DEFAULTS } from "../bench/soak.ts";

Deno.test("a small soak of the whole lab loses no line, repeats none, and ends every job as it should", async () => {
  const result = await runSoak({
    ...SOAK_DEFAULTS,
    devices: 8,
    workers: 2,
    jobs: 24,
    rate: 4,
    lines: 30,
    lineMs: 10,
    followers: 4,
    subscribers: 2,
    standalone: false,
  });
  assertEquals(result.wrongOutcomes, []);
  assertEquals([result.lines.lost, result.lines.repeated], [0, 0]);
  assertEquals(result.lines.stored, result.lines.expected);
  // 24 submissions, of which the MultiNode ones are pairs.
  assertEquals(result.submitted, 24 + Array.from({ length: 24 }, (_, i) => i).filter((i) => i % 10 === 5).length);
});
