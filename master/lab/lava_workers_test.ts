import { assertEquals } from "../../tests/support/assert.ts";
import { LAVA_DISPATCHER_CAPABILITIES, parseLavaLogRecord, speaksWorkerApi } from "./lava_workers.ts";

Deno.test("a record of lava-run's log batch reads as a log line, its zoneless UTC time made explicit", () => {
  assertEquals(
    parseLavaLogRecord('- {"dt": "2026-12-04T15:54:36.186271", "lvl": "info", "msg": "start: 0 validate"}'),
    { dt: "2026-12-04T15:54:36.186271Z", lvl: "info", msg: "start: 0 validate" },
  );
  assertEquals(
    parseLavaLogRecord(
      '{"dt": "2026-12-04T15:54:36+00:00", "lvl": "results", "msg": {"case": "job", "result": "pass"}}',
    ),
    { dt: "2026-12-04T15:54:36+00:00", lvl: "results", msg: { case: "job", result: "pass" } },
  );
  // YAML's double-quoted escapes, as PyYAML writes a serial console's control characters.
  assertEquals(parseLavaLogRecord('- {"dt": "2026-01-01T00:00:00", "lvl": "target", "msg": "a\\x1b[0mb\\u00e9"}'), {
    dt: "2026-01-01T00:00:00Z",
    lvl: "target",
    msg: "a\u001b[0mbé",
  });
});

Deno.test("a malformed record says what is wrong with it", () => {
  assertEquals(parseLavaLogRecord('- {"dt": "x", "lvl": "shout", "msg": ""}'), 'lvl "shout" is not a log level');
  assertEquals(parseLavaLogRecord('- {"lvl": "info", "msg": ""}'), "dt must be a time");
  assertEquals(parseLavaLogRecord("- [1, 2]"), "not a mapping");
  assertEquals((parseLavaLogRecord('- {"dt": [') as string).startsWith("not YAML"), true);
  // Aliases are refused outright: a batch cannot expand into gigabytes.
  assertEquals(
    (parseLavaLogRecord('- {"dt": "t", "lvl": "info", "msg": &a [1], "x": *a}') as string).startsWith("not YAML"),
    true,
  );
});

Deno.test("workers from LAVA 2020.09 on speak the HTTP worker API; older ones and nonsense do not", () => {
  assertEquals(["2023.01", "2020.09", "2026.07.0012.g1234abcd", "2024.05.1"].map(speaksWorkerApi), [
    true,
    true,
    true,
    true,
  ]);
  assertEquals(["2020.08", "2019.12", "", "latest", "23.01"].map(speaksWorkerApi), [false, false, false, false, false]);
});

Deno.test("a LAVA worker is taken to run every method of LAVA's job schema", () => {
  for (const method of ["tmpfs", "tftp", "fastboot", "nbd"]) {
    assertEquals(LAVA_DISPATCHER_CAPABILITIES.deploy.includes(method), true);
  }
  for (const method of ["qemu", "u-boot", "depthcharge", "fastboot"]) {
    assertEquals(LAVA_DISPATCHER_CAPABILITIES.boot.includes(method), true);
  }
  for (const kind of ["definitions", "interactive", "monitors"]) {
    assertEquals(LAVA_DISPATCHER_CAPABILITIES.test.includes(kind), true);
  }
});
