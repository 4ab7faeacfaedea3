import { assert, assertEquals } from "../../../tests/support/assert.ts";

const FIXTURE = new URL("../../../tests/fixtures/zmq_interrupted.ts", import.meta.url).pathname;

Deno.test("libzmq calls interrupted by signals are made again rather than ending the process", async () => {
  // V8's sampling profiler sends SIGPROF to the JavaScript thread every 20 µs: many of
  // the fixture's receives and sends are interrupted halfway (EINTR), as any signal can.
  const log = await Deno.makeTempFile({ prefix: "basalt-v8-", suffix: ".log" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=--prof,--prof-sampling-interval=20,--logfile=${log},--no-logfile-per-isolate`,
        FIXTURE,
        "20000",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, stderr);
    assert(new TextDecoder().decode(output.stdout).includes("echoes"), stderr);
  } finally {
    await Deno.remove(log);
  }
});
