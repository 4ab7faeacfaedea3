import { parse } from "yaml";
import { assertEquals } from "../../../tests/support/assert.ts";
import { pipelineOf, rows } from "../../../tests/support/pipelines.ts";
import { qemuDeviceYaml } from "../../../tests/support/dut.ts";
import { reservationDefinition } from "../../../master/lab/reservations.ts";

Deno.test("a reservation's pipeline runs its boot job's deploy and boot, then one reservation action as long as it lasts", () => {
  const boot = `
job_name: boot
device_type: qemu
visibility: public
timeouts: { job: { minutes: 5 } }
actions:
- deploy: { to: tmpfs, images: { kernel: { url: "file:///srv/vmlinuz", image_arg: "-kernel {kernel}" } } }
- boot: { method: qemu, media: tmpfs, prompts: ["/ # "] }
`;
  const job = parse(reservationDefinition({ deviceType: "qemu", minutes: 45, boot }, "alice"));
  const pipeline = pipelineOf(job, parse(qemuDeviceYaml()));
  const top = rows(pipeline.actions).filter(([, level]) => !level.includes("."));
  assertEquals(top.map(([name, level]) => [name, level]), [
    ["deployimages", "1"],
    ["boot-image-retry", "2"],
    ["reservation", "3"],
    ["finalize", "4"],
  ]);
  assertEquals(top[2][3], 45 * 60);
  assertEquals(pipeline.actions[2].method, "reservation");
});
