/**
 * A machine reached over SSH, through the whole lab: LAVA's ssh deploy and ssh
 * boot against a real OpenSSH server (this machine, on 127.0.0.1), the overlay
 * copied with scp and unpacked there, the tests run in the ssh session.
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import { sshGuestMultinodeJob, sshJob } from "../ops/dut_jobs.ts";
import { startSshd } from "./support/sshd.ts";
import { startCoordinator } from "./support/coordinator_peer.ts";

/** The ssh device type's dictionary for the test's sshd (this machine, the overlay under the test's directory). */
function sshDictionary(sshd: { port: number; identityFile: string; dir: string }): string {
  return [
    "{% extends 'ssh.jinja2' %}",
    "{% set ssh_host = '127.0.0.1' %}",
    `{% set ssh_port = ${sshd.port} %}`,
    `{% set ssh_identity_file = '${sshd.identityFile}' %}`,
    // The machine is this one: the overlay goes under the test's directory, not into its /.
    `{% set lava_test_results_dir = '${sshd.dir}/lava-%s' %}`,
  ].join("\n");
}

async function results(lab: TestLab, id: string): Promise<Record<string, string>> {
  const found = await lab.api<{ results: { suite: string; name: string; result: string; metadata?: unknown }[] }>(
    "GET",
    `/api/v1/jobs/${id}/results`,
  );
  return Object.fromEntries(found.body.results.map((r) => {
    const error = (r.metadata as { error_msg?: string } | undefined)?.error_msg ?? "";
    return [`${r.suite}/${r.name}`, r.result === "fail" ? `fail: ${error}` : r.result];
  }));
}

/** The metadata of the job's `lava/job` result: its error's type and message when it failed. */
async function jobResult(lab: TestLab, id: string): Promise<Record<string, string>> {
  const found = await lab.api<{ results: Record<string, unknown>[] }>("GET", `/api/v1/jobs/${id}/results`);
  const job = found.body.results.find((r) => r.suite === "lava" && r.name === "job");
  return (job?.metadata ?? {}) as Record<string, string>;
}

/** Waits until the job's log has a line matching `pattern` (read again every 200 ms, for at most a minute). */
async function logLine(lab: TestLab, id: string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const log = await lab.api<{ lines: { msg: unknown }[] }>("GET", `/api/v1/jobs/${id}/logs`);
    if (log.body.lines.some((line) => pattern.test(JSON.stringify(line.msg)))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id}'s log has no ${pattern} within a minute`);
}

Deno.test("an ssh job copies its overlay with scp, logs in with ssh and runs its tests in that session; a dropped connection and a server gone are the lab's errors, a killed dispatcher's ssh client is stopped", async () => {
  const sshd = await startSshd();
  let lab: TestLab | undefined;
  try {
    lab = await startTestLab();
    await lab.addWorker("w1");
    await lab.addDevice("server-01", "ssh", "w1", sshDictionary(sshd));
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(sshJob([
        // sshd's variable for the session, as the shell sees it (its first word: the client's address).
        'lava-test-case over-ssh --shell [ "${SSH_CONNECTION%% *}" = 127.0.0.1 ]',
        "lava-test-case hostname --shell hostname",
        'lava-test-case target-ip --shell [ "$(lava-target-ip)" = 127.0.0.1 ]',
      ], "ssh")),
    });
    assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
    const [id] = submitted.body.job_ids;
    const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 120_000);
    const byName = await results(lab, id);
    assertEquals(finished.health, "Complete", JSON.stringify(byName));
    for (const name of ["lava/login-action", "0_over-ssh/over-ssh", "0_over-ssh/hostname", "0_over-ssh/target-ip"]) {
      assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
    }
    // LAVA's layout on the machine: the overlay tarball beside the results directory it unpacked into.
    const onMachine = [...Deno.readDirSync(sshd.dir)].map((e) => e.name).sort();
    assert(
      onMachine.includes(`lava-${id}`) && onMachine.includes(`lava-${id}-overlay.tar.gz`),
      JSON.stringify(onMachine),
    );

    // The connection dropped during the test shell (the machine's sshd serving it killed): the lab's error, and
    // nothing of the job left running.
    const long = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(sshJob(["lava-test-case started --shell true", "sleep 60"], "ssh, connection dropped")),
    });
    const [longId] = long.body.job_ids;
    await logLine(lab, longId, /TEST_CASE_ID=started RESULT=pass/);
    await new Deno.Command("pkill", { args: ["-KILL", "-P", String(sshd.pid)] }).output();
    const dropped = await waitForJob(lab, longId, (d) => d.state === "Finished", 120_000);
    const droppedJob = await jobResult(lab, longId);
    assertEquals([dropped.health, droppedJob.error_type], ["Incomplete", "Infrastructure"], JSON.stringify(droppedJob));
    assert(/closed during the tests/.test(droppedJob.error_msg), droppedJob.error_msg);
    const clients = await new Deno.Command("pgrep", { args: ["-f", `ssh .*-p ${sshd.port} `], stdout: "piped" })
      .output();
    assertEquals(new TextDecoder().decode(clients.stdout), "", "the job's ssh client is gone");

    // A dispatcher killed during the test shell runs no finalize: the worker stops the ssh client it left.
    const killed = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(sshJob(["lava-test-case started --shell true", "sleep 60"], "ssh, dispatcher killed")),
    });
    const [killedId] = killed.body.job_ids;
    await logLine(lab, killedId, /TEST_CASE_ID=started RESULT=pass/);
    await new Deno.Command("pkill", { args: ["-KILL", "-f", "--", `--job-id ${killedId} --output-dir`] }).output();
    assertEquals((await waitForJob(lab, killedId, (d) => d.state === "Finished", 60_000)).health, "Incomplete");
    const left = await new Deno.Command("pgrep", { args: ["-f", `ssh .*-p ${sshd.port} `], stdout: "piped" }).output();
    assertEquals(new TextDecoder().decode(left.stdout), "", "the killed dispatcher's ssh client was stopped");

    // The server gone: the login fails as the lab's error, not the job's.
    await sshd.stop();
    const again = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(sshJob(["true"], "ssh, server gone")),
    });
    const [goneId] = again.body.job_ids;
    const gone = await waitForJob(lab, goneId, (d) => d.state === "Finished", 120_000);
    const metadata = await jobResult(lab, goneId);
    assertEquals([gone.health, metadata.error_type], ["Incomplete", "Infrastructure"], JSON.stringify(metadata));
    assert(metadata.error_msg.includes("Unable to copy overlay"), metadata.error_msg);
  } finally {
    await lab?.close();
    await sshd.stop();
  }
});

Deno.test("a MultiNode job's SSH guests, connections without devices, wait for their host role's start, learn its address and log into its device", async () => {
  const sshd = await startSshd();
  const dir = await Deno.makeTempDir({ prefix: "basalt-ssh-guest-" });
  let lab: TestLab | undefined;
  let coordinator: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  try {
    coordinator = await startCoordinator(`${dir}/coordinator`);
    lab = await startTestLab({ coordinator: { host: "127.0.0.1", port: coordinator.port } });
    await lab.addWorker("w1");
    await lab.addDevice("server-01", "ssh", "w1", sshDictionary(sshd));
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(sshGuestMultinodeJob(
        [
          // The device is this machine: its address for the guests is the loopback's.
          "lava-send ipv4 ipaddr=127.0.0.1",
          "lava-send lava_start",
          "lava-sync clients",
          "lava-test-case host-done --shell true",
        ],
        [
          'lava-test-case guest-over-ssh --shell [ "${SSH_CONNECTION%% *}" = 127.0.0.1 ]',
          'lava-test-case guest-role --shell [ "$(lava-role)" = guest ]',
          "lava-sync clients",
        ],
      )),
    });
    assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
    const [hostId, guestId] = submitted.body.job_ids;
    const host = await waitForJob(lab, hostId, (d) => d.state === "Finished", 120_000);
    const guest = await waitForJob(lab, guestId, (d) => d.state === "Finished", 120_000);
    const hostResults = await results(lab, hostId);
    const guestResults = await results(lab, guestId);
    assertEquals([host.health, guest.health], ["Complete", "Complete"], JSON.stringify({ hostResults, guestResults }));
    assertEquals(guestResults["0_guest/guest-over-ssh"], "pass", JSON.stringify(guestResults));
    assertEquals(guestResults["0_guest/guest-role"], "pass", JSON.stringify(guestResults));
    assertEquals(hostResults["0_host/host-done"], "pass", JSON.stringify(hostResults));
    // It logged in where the host role's message said, not where the device's own configuration does.
    await logLine(lab, guestId, /Using the host role's address: 127\.0\.0\.1/);
    // The guest had no device: the host's device was the only one reserved, and it is free again.
    assertEquals(lab.master.lab.deviceStatus("server-01")?.state, "Idle");
  } finally {
    await lab?.close();
    await coordinator?.process.stop();
    await sshd.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
