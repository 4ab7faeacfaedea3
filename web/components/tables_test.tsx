import { renderToString } from "preact-render-to-string";
import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { formatTime } from "./badge.tsx";
import { DeviceTable, JobTable, WorkerTable } from "./tables.tsx";

const device = {
  hostname: "qemu01",
  device_type: "qemu",
  state: "Running",
  health: "Good",
  current_job: null,
  worker: "w1",
  tags: ["fast", "usb"],
};

Deno.test("a device running a job the viewer may not see says it is busy, and an idle one shows a dash", () => {
  const busy = renderToString(<DeviceTable devices={[device]} columns={["device", "job"]} />);
  assertStringIncludes(busy, '<span class="muted">busy</span>');
  const idle = renderToString(<DeviceTable devices={[{ ...device, state: "Idle" }]} columns={["job"]} />);
  assertStringIncludes(idle, "<td>—</td>");
  const running = renderToString(<DeviceTable devices={[{ ...device, current_job: 12 }]} columns={["job"]} />);
  assertStringIncludes(running, '<a href="/jobs/12">12</a>');
});

Deno.test("a table draws only the columns asked for, in their order, each row marked with its key", () => {
  const html = renderToString(<DeviceTable devices={[device]} columns={["tags", "device"]} />);
  assertEquals(
    html,
    '<table><thead><tr><th>Tags</th><th>Device</th></tr></thead><tbody><tr data-device="qemu01">' +
      '<td>fast, usb</td><td><a href="/devices/qemu01">qemu01</a></td></tr></tbody></table>',
  );
  const jobs = renderToString(
    <JobTable jobs={[{ id: "7.1", description: "boot", device: null }]} columns={["id", "device"]} />,
  );
  assertStringIncludes(jobs, '<tr data-job="7.1"><td><a href="/jobs/7.1">7.1</a></td><td>—</td></tr>');
  const workers = renderToString(
    <WorkerTable
      workers={[{ hostname: "w1", state: "Online", health: "Active", devices: ["a", "b"] }]}
      columns={["devices"]}
    />,
  );
  assertStringIncludes(workers, '<tr data-worker="w1"><td>2</td></tr>');
});

Deno.test("times read the same from a Date on the server and its ISO string in an island's props", () => {
  const at = new Date("2024-05-06T07:08:09.123Z");
  assertEquals(formatTime(at), "2024-05-06 07:08:09");
  assertEquals(formatTime(at.toISOString()), "2024-05-06 07:08:09");
  assertEquals(formatTime(null), "—");
  assert(formatTime("not a time") === "not a time");
});
