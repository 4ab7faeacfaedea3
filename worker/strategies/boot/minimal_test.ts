import { assertEquals } from "../../../tests/support/assert.ts";
import { exampleDevice, pipelineOf, rows, section } from "../../../tests/support/pipelines.ts";
import { testWithExamples } from "../../../tests/support/lava_examples.ts";

function job(boot: Record<string, unknown>, test?: Record<string, unknown>): Record<string, unknown> {
  return {
    device_type: "beaglebone-black",
    job_name: "minimal",
    timeouts: { job: { minutes: 10 }, action: { minutes: 1 }, connection: { seconds: 20 } },
    actions: [{ boot: { method: "minimal", ...boot } }, ...(test ? [{ test }] : [])],
  };
}

testWithExamples(
  "a minimal boot is LAVA's: connect, the job's pre-commands, reset, then login and shell when a test needs it",
  () => {
    const device = exampleDevice("bbb-01", "beaglebone-black");
    const shell = { definitions: [{ from: "inline", name: "x", path: "x.yaml", repository: {} }] };
    const full = pipelineOf(
      job(
        { prompts: ["# "], auto_login: { login_prompt: "login:", username: "root" }, pre_power_command: true },
        shell,
      ),
      device,
    );
    assertEquals(section(rows(full.actions), "1").map(([name, level, retries]) => [name, level, retries]), [
      ["minimal-boot", "1", 1],
      ["connect-device", "1.1", 1],
      ["pre-power-command", "1.2", 1],
      ["reset-device", "1.3", 1],
      ["pdu-reboot", "1.3.1", 1],
      ["auto-login-action", "1.4", 1],
      ["login-action", "1.4.1", 1],
      ["expect-shell-connection", "1.5", 1],
      ["export-device-env", "1.6", 1],
    ]);
    // LAVA's b2260-interactive: no reset, an interactive test (no shell): login only.
    const interactive = pipelineOf(job({ reset: false, prompts: ["=> "] }, { interactive: [] }), device);
    assertEquals(section(rows(interactive.actions), "1").map(([name, level]) => [name, level]), [
      ["minimal-boot", "1"],
      ["connect-device", "1.1"],
      ["auto-login-action", "1.2"],
      ["login-action", "1.2.1"],
    ]);
  },
);

testWithExamples("a minimal boot is retried whole by failure_retry, as LAVA's RetryAction", () => {
  const device = exampleDevice("bbb-01", "beaglebone-black");
  const pipeline = pipelineOf(job({ failure_retry: 3 }), device);
  assertEquals(pipeline.actions[0].maxRetries, 3);
  assertEquals(pipeline.actions[0].pipeline[0].name, "connect-device");
});
