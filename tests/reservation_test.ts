/**
 * Reserving a board through the whole lab (master, worker, dispatch process,
 * the QEMU device): `deno task cli devices reserve` queues it like a job, its
 * boot job's kernel comes up, `cli devices console` in a real pseudo-terminal
 * (util-linux `script`) types on it, a second person watches without the
 * keyboard, the worker restarts under it, the holder resets the board, boots
 * another kernel command line on it and releases it; the device then runs its health check before the CI job that
 * waited. A user without submit permission cannot reserve, and one whose
 * permission is revoked mid-reservation loses it.
 */
import { stringify } from "yaml";
import { changeLabPermission } from "../master/lab/admin/people.ts";
import { addLabGroup } from "../master/lab/admin/people.ts";
import { addUser, issueToken } from "../master/storage/users.ts";
import { ApiClient } from "../master/cli/api_client.ts";
import { ConsoleConnection } from "../master/cli/console.ts";
import type { ViewerFrame } from "../master/lab/consoles.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "./support/lab.ts";
import { Condition, eventually } from "./support/wait.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const WAIT_MS = 90_000;

/** A console connection whose output and frames the test can wait on. */
async function watch(client: ApiClient, job: string) {
  const changed = new Condition();
  const frames: ViewerFrame[] = [];
  let output = "";
  const connection = await ConsoleConnection.open(client, job, (frame) => {
    frames.push(frame);
    if (frame.t === "output") output += frame.data;
    changed.notify();
  });
  return {
    connection,
    frames,
    get output() {
      return output;
    },
    clear: () => output = "",
    until: (what: string, test: () => boolean, timeoutMs = WAIT_MS) =>
      changed.until(test, timeoutMs, what, () => `output so far: ${JSON.stringify(output.slice(-300))}`),
  };
}

/** `deno task cli` in a pseudo-terminal of its own, as a person runs it. */
function cliInTerminal(url: string, token: string, args: string[]) {
  const command = [Deno.execPath(), "run", "-A", "master/cli/main.ts", ...args, "--url", url, "--token", token]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-q", "-e", "-c", command, "/dev/null"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const changed = new Condition();
  let screen = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      screen += chunk;
      changed.notify();
    }
  })();
  const writer = child.stdin.getWriter();
  return {
    get screen() {
      return screen;
    },
    type: (text: string) => writer.write(new TextEncoder().encode(text)),
    until: (what: string, text: string) =>
      changed.until(() => screen.includes(text), WAIT_MS, what, () => JSON.stringify(screen.slice(-400))),
    async exit() {
      const status = await child.status;
      await reading;
      await writer.close().catch(() => {});
      await child.stderr.cancel();
      return status.code;
    },
  };
}

async function cli(url: string, token: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "master/cli/main.ts", ...args, "--url", url, "--token", token],
    cwd: ROOT,
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout).trim() };
}

Deno.test("a reserved board: queued like a job, its console in a terminal and a second viewer, reset, released, then checked", async () => {
  const lab = await startTestLab();
  const dir = await Deno.makeTempDir({ prefix: "basalt-reservation-" });
  try {
    const { db } = lab.master.storage;
    const admin = { id: 0, username: "test-set-up", is_superuser: true };
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    await addUser(db, { username: "alice" });
    await addUser(db, { username: "bob" });
    const alice = (await issueToken(db, "alice")).token;
    const bob = (await issueToken(db, "bob")).token;
    await addLabGroup(lab.master.lab, admin, "team", ["alice"]);
    await changeLabPermission(lab.master.lab, admin, { deviceType: "qemu" }, "team", "submit", "grant");
    const url = lab.master.url;
    await Deno.writeTextFile(`${dir}/boot.yaml`, stringify(qemuJob({ name: "boot to a shell" })));

    // Bob may not submit to qemu devices, so he may not reserve one either.
    const refused = await cli(url, bob, "devices", "reserve", "--device", "qemu01", "--no-console");
    assertEquals(refused.code, 1);

    const reserved = await cli(
      url,
      alice,
      ...["devices", "reserve", "--device", "qemu01", "--minutes", "10", "--boot", `${dir}/boot.yaml`, "--no-console"],
    );
    assertEquals(reserved.code, 0);
    const id = reserved.stdout;
    // A CI job queued behind the reservation, and the health check the device gets after it.
    const ci = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(qemuJob({ name: "ci", tests: [inlineTest("ci", ["lava-test-case ci --shell true"])] })),
    });
    lab.master.lab.labDir.setHealthCheck("qemu", stringify(qemuJob({ name: "health check" })));
    await waitForJob(lab, id, (d) => d.state === "Running", WAIT_MS);

    // Alice holds the console in a terminal; Bob watches.
    const terminal = cliInTerminal(url, alice, ["devices", "console", "qemu01"]);
    await terminal.until("the keyboard", "you hold the keyboard");
    await terminal.until("the hand-over", "power on;");
    const viewer = await watch(new ApiClient(url, bob), id);
    await viewer.until("the state", () => viewer.frames.some((f) => f.t === "state" && f.power === "on"));
    await terminal.type("echo hi-$((6*7))\r");
    await terminal.until("the command's output in the terminal", "hi-42");
    await viewer.until("the same output for the viewer", () => viewer.output.includes("hi-42"));
    viewer.connection.send({ t: "input", data: "echo typed-by-bob\r" });
    await viewer.until(
      "a refusal",
      () => viewer.frames.some((f) => f.t === "notice" && /holds the keyboard/.test(f.text)),
    );
    await terminal.type("\x1dq");
    assertEquals(await terminal.exit(), 0);

    // The worker restarts under the reservation: the console comes back, and nothing typed is lost from the record.
    await lab.workers.get("w1")!.close();
    await lab.startWorker("w1");
    const holder = await watch(new ApiClient(url, alice), id);
    await holder.until("the keyboard", () => holder.frames.some((f) => f.t === "keyboard" && f.yours));
    // A shell that has just printed its prompt may still discard what arrives before it reads (ash flushes its
    // terminal's input as it starts editing a line): a line not answered is typed again.
    const typed = async (line: string, expect: string) => {
      for (let attempt = 1;; attempt++) {
        holder.connection.send({ t: "input", data: `${line}\r` });
        try {
          return await holder.until(expect, () => holder.output.includes(expect), 5000);
        } catch (error) {
          if (attempt === 5) throw error;
        }
      }
    };
    // Keys typed while the new worker is not yet connected are dropped, as over a broken SSH link: press Enter
    // until the shell answers.
    await eventually("the shell through the new worker", async () => {
      holder.connection.send({ t: "input", data: "\r" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      return holder.output.includes("/ # ");
    }, WAIT_MS);
    await typed("echo after-$((40+2))", "after-42");

    holder.clear();
    holder.connection.send({ t: "power", action: "reset" });
    await holder.until("the board booting again", () => holder.output.includes("Linux version"));
    await holder.until("its shell", () => holder.output.includes("/ # "));
    await typed("echo again-$((6*7))", "again-42");
    // Another kernel command line, booted by the holder from a job's deploy and boot actions.
    holder.connection.send({ t: "boot", definition: stringify(qemuJob({ name: "other", append: "basalt.other=1" })) });
    await holder.until("the boot", () => holder.frames.some((f) => f.t === "notice" && f.text === "boot: done"));
    await typed("grep -o basalt.other=1 /proc/cmdline && echo cmdline-$((1+1))", "cmdline-2");
    holder.connection.send({ t: "release" });
    assertEquals(await holder.connection.closed, "the reservation has ended");
    const ended = await waitForJob(lab, id, (d) => d.state === "Finished", WAIT_MS);
    assertEquals(ended.health, "Complete");

    // The device is checked before the CI job that waited takes it.
    const ciId = ci.body.job_ids[0];
    const ciDone = await waitForJob(lab, ciId, (d) => d.state === "Finished", WAIT_MS * 2);
    assertEquals(ciDone.health, "Complete");
    const started = lab.events.filter((e) => e.kind === "testjob" && e.data.state === "Running")
      .map((e) => String(e.data.description));
    assertEquals(started.slice(-2), ["health check", "ci"]);

    // The record: what was printed and typed, who held it, and the power switch.
    const log = await lab.api<{ results?: unknown[] } | { lvl: string; msg: unknown }[]>(
      "GET",
      `/api/v1/jobs/${id}/logs`,
    );
    const text = JSON.stringify(log.body);
    for (
      const expected of [
        "echo hi-$((6*7))",
        "hi-42",
        "echo after-$((40+2))",
        "after-42",
        "alice holds the keyboard",
        "Power reset, asked by alice",
        'Boot asked by alice: the deploy and boot actions of \\"other\\"',
        "Reservation released by alice",
      ]
    ) {
      if (!text.includes(expected)) {
        const where = await Deno.makeTempFile({ prefix: "reservation-log-", suffix: ".json" });
        await Deno.writeTextFile(where, text);
        throw new Error(`the reservation's record lacks ${JSON.stringify(expected)} (its log: ${where})`);
      }
    }
    assert(!text.includes("typed-by-bob"), "the viewer's refused input reached the device");
    await viewer.connection.closed;
  } finally {
    await lab.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
