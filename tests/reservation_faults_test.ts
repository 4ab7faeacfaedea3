/**
 * A reservation's faults through the whole lab (master, worker, dispatch
 * process, the QEMU device reserved powered off, so no boot is needed): the
 * browser closed without releasing — the reservation runs out its time, warning
 * first, and ends; the holder's permission revoked mid-session — it ends at once
 * and its console closes. (A worker restarted under a reservation is in
 * reservation_test.ts, where the board is booted.)
 */
import { stringify } from "yaml";
import { addLabGroup, changeLabPermission } from "../master/lab/admin/people.ts";
import { addUser, issueToken } from "../master/storage/users.ts";
import { ApiClient } from "../master/cli/api_client.ts";
import { ConsoleConnection } from "../master/cli/console.ts";
import type { ViewerFrame } from "../master/lab/consoles.ts";
import { assertEquals, assertStringIncludes } from "./support/assert.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { Condition } from "./support/wait.ts";

const WAIT_MS = 60_000;

/** A reservation of the board as it is, for `seconds`, warning `warn` seconds before its end. */
function shortReservation(seconds: number, warn: number): string {
  return stringify({
    job_name: "a short reservation",
    device_type: "qemu",
    device: "qemu01",
    visibility: "public",
    timeouts: { job: { minutes: 2 } },
    actions: [{ test: { timeout: { seconds }, reservation: { warning: { seconds: warn } } } }],
  });
}

async function viewer(client: ApiClient, job: string) {
  const frames: ViewerFrame[] = [];
  const changed = new Condition();
  const connection = await ConsoleConnection.open(client, job, (frame) => {
    frames.push(frame);
    changed.notify();
  });
  return {
    connection,
    frames,
    until: (what: string, test: (f: ViewerFrame) => boolean) =>
      changed.until(() => frames.some(test), WAIT_MS, what, () => JSON.stringify(frames)),
  };
}

Deno.test("a reservation left without a release runs out its time, and one whose holder loses the right ends at once", async () => {
  const lab = await startTestLab();
  try {
    const { db } = lab.master.storage;
    const admin = { id: 0, username: "test-set-up", is_superuser: true };
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    await addUser(db, { username: "alice" });
    const alice = new ApiClient(lab.master.url, (await issueToken(db, "alice")).token);
    await addLabGroup(lab.master.lab, admin, "team", ["alice"]);
    await addLabGroup(lab.master.lab, admin, "others", []);
    // Two groups may submit: revoking one leaves the type restricted (with no grant left it would be open to all).
    for (const group of ["team", "others"]) {
      await changeLabPermission(lab.master.lab, admin, { deviceType: "qemu" }, group, "submit", "grant");
    }
    const submit = async (definition: string) =>
      (await alice.json<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition })).job_ids[0];

    // The browser is closed without a release: the reservation warns, then ends when its time is up.
    const left = await submit(shortReservation(8, 4));
    await waitForJob(lab, left, (d) => d.state === "Running", WAIT_MS);
    const gone = await viewer(alice, left);
    await gone.until("the hand-over", (f) => f.t === "state");
    gone.connection.close();
    const timedOut = await waitForJob(lab, left, (d) => d.state === "Finished", WAIT_MS);
    assertEquals(timedOut.health, "Complete");
    const leftLog = JSON.stringify((await lab.api("GET", `/api/v1/jobs/${left}/logs`)).body);
    assertStringIncludes(leftLog, "The reservation ends in 4 seconds");
    assertStringIncludes(leftLog, "The reservation's time is up");
    assertEquals((await lab.api<{ health: string }>("GET", "/api/v1/devices/qemu01")).body.health, "Unknown");

    // The holder's permission is revoked while the console is open: the reservation ends and the console closes.
    const revoked = await submit(shortReservation(120, 60));
    await waitForJob(lab, revoked, (d) => d.state === "Running", WAIT_MS);
    const watching = await viewer(alice, revoked);
    await watching.until("the hand-over", (f) => f.t === "state");
    await changeLabPermission(lab.master.lab, admin, { deviceType: "qemu" }, "team", "submit", "revoke");
    const ended = await waitForJob(lab, revoked, (d) => d.state === "Finished", WAIT_MS);
    assertEquals(ended.health, "Canceled");
    assertEquals(await watching.connection.closed, "the reservation has ended");
  } finally {
    await lab.close();
  }
});
