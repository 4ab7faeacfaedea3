/**
 * An Android-style board flashed with fastboot, through the whole lab: the
 * simulated board (worker/sim/fastboot_bootloader.ts) answers Debian's real
 * `fastboot` client on fastboot's TCP transport, writes what is flashed into its
 * partitions, and boots the flashed Android boot image in QEMU with `userdata`
 * (the busybox system, sent as a sparse image with the overlay written into it)
 * as its root disk. One board for the job and the two faults.
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import { fastbootBoard, fastbootDictionary } from "./support/firmware.ts";
import { fastbootJob } from "../ops/dut_jobs.ts";
import { dutFile } from "./support/dut.ts";

async function run(lab: TestLab, job: Record<string, unknown>) {
  const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
  assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
  const [id] = submitted.body.job_ids;
  const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 300_000);
  const found = await lab.api<{ results: { suite: string; name: string; result: string; metadata?: unknown }[] }>(
    "GET",
    `/api/v1/jobs/${id}/results`,
  );
  const byName = Object.fromEntries(found.body.results.map((r) => [`${r.suite}/${r.name}`, r.result]));
  const outcome = found.body.results.find((r) => r.suite === "lava" && r.name === "job");
  return { finished, byName, error: (outcome?.metadata ?? {}) as Record<string, string> };
}

/** The fastboot clients still running (none may outlive a job). */
async function fastbootClients(): Promise<string> {
  const found = await new Deno.Command("pgrep", { args: ["-a", "-x", "fastboot"], stdout: "piped" }).output();
  return new TextDecoder().decode(found.stdout).trim();
}

Deno.test("a fastboot job flashes boot and userdata with Debian's fastboot client, boots the flashed image and runs its tests; a refused flash is the job's error, a device gone mid-flash the lab's", async () => {
  const { board, serial } = await fastbootBoard();
  const lab = await startTestLab();
  try {
    await lab.addWorker("w1");
    await lab.addDevice("hikey-01", "fastboot", "w1", fastbootDictionary(board, serial));
    const job = fastbootJob(dutFile, [
      "lava-test-case root-is-userdata --shell grep -q '^/dev/vda / ext4' /proc/mounts",
      "lava-test-case cmdline --shell grep -q root=/dev/vda /proc/cmdline",
    ], "fastboot flash and boot");
    const ok = await run(lab, job);
    const transcript = await Deno.readTextFile(board.transcript);
    assertEquals(ok.finished.health, "Complete", `${JSON.stringify(ok.byName)}\n${transcript.slice(-3000)}`);
    for (const name of ["0_fastboot/root-is-userdata", "0_fastboot/cmdline", "lava/login-action"]) {
      assertEquals(ok.byName[name], "pass", `${name}: ${JSON.stringify(ok.byName)}`);
    }
    assert(/flashed boot \(\d+ bytes, sparse\)/.test(transcript), "the boot image went as sparse pieces");
    assert(/flashed userdata \(\d+ bytes, sparse\)/.test(transcript), "userdata was flashed as a sparse image");
    assert(transcript.includes("Booting the boot partition: console=ttyAMA0 root=/dev/vda rw"), "the flashed image");
    assertEquals(await fastbootClients(), "");

    // The device refuses to flash userdata: what the job asked cannot be done — the job's error, in the device's words.
    assertEquals(await board.power("fault refuse userdata"), "ok refuse:userdata");
    const refused = await run(lab, job);
    assertEquals([refused.finished.health, refused.error.error_type], ["Incomplete", "Job"], JSON.stringify(refused));
    assert(
      refused.error.error_msg.includes("flashing is not allowed for locked partition userdata"),
      refused.error.error_msg,
    );
    assertEquals(lab.master.lab.deviceStatus("hikey-01")?.health, "Good");
    assertEquals(await fastbootClients(), "");

    // The device drops off halfway through a download and never answers again: the flash runs out of its time,
    // which is the lab's failure (LAVA's fastboot-flash-action), and the device needs a health check. A flash takes
    // under a second here: ten seconds for each keeps the test short.
    assertEquals(await board.power("fault clear"), "ok");
    assertEquals(await board.power("fault vanish"), "ok vanish");
    const timeouts = { ...(job.timeouts as object), actions: { "fastboot-flash-action": { seconds: 10 } } };
    const gone = await run(lab, { ...job, timeouts });
    assertEquals([gone.finished.health, gone.error.error_type], ["Incomplete", "Infrastructure"], JSON.stringify(gone));
    assert(gone.error.error_msg.includes("fastboot-flash-action timed out"), gone.error.error_msg);
    assert((await Deno.readTextFile(board.transcript)).includes("fastboot: USB link lost"), "the device went away");
    assertEquals(lab.master.lab.deviceStatus("hikey-01")?.health, "Unknown");
    assertEquals(await fastbootClients(), "");
    assertEquals(await board.power("state"), "off", "the board was powered off at the job's end");
  } finally {
    await lab.close();
    await board.stop();
  }
});
