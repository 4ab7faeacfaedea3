import { assert, assertEquals } from "../tests/support/assert.ts";
import { deviceMachine } from "../actors/machines/device.ts";
import { jobMachine } from "../actors/machines/job.ts";
import { machineGraph } from "../actors/runtime/machine_graph.ts";
import { machineSvg } from "./machine_svg.ts";

Deno.test("a machine is drawn with every state, its events, and the current state marked", () => {
  const svg = machineSvg(machineGraph(jobMachine), "Running");
  for (const state of ["Submitted", "Scheduling", "Scheduled", "Running", "Canceling", "Finished"]) {
    assert(svg.includes(`data-state="${state}"`), state);
  }
  assertEquals(svg.match(/class="state[^"]*current"/g)?.length, 1);
  assert(svg.includes('class="state current" data-state="Running"'));
  for (const event of ["reserve", "schedule", "started", "cancel", "refused"]) assert(svg.includes(event), event);
  assert(svg.includes("in any state: finished → Finished"));
  const device = machineSvg(machineGraph(deviceMachine));
  assert(!device.includes("current"), "no state is marked when none is given");
  assert(device.startsWith("<svg") && device.endsWith("</svg>"));
});
