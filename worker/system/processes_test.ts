import { assert, assertEquals } from "../../tests/support/assert.ts";
import { isAlive, killProcessesUnder, signalGroup, spawnDetached, waitForExit } from "./processes.ts";

Deno.test("a detached process leads its own process group and its end is noticed", async () => {
  const process = spawnDetached(["sh", "-c", "sleep 0.3"]);
  assert(isAlive(process));
  const stat = Deno.readTextFileSync(`/proc/${process.pid}/stat`);
  const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  assertEquals(pgid, process.pid);
  const started = performance.now();
  await waitForExit(process);
  assert(performance.now() - started < 2000);
  assert(!isAlive(process));
});

Deno.test("signalling a group reaches the children the leader started", async () => {
  const marker = `basalt-group-${crypto.randomUUID()}`;
  const process = spawnDetached(["sh", "-c", `(sleep 60; echo ${marker}) & wait`]);
  await new Promise((r) => setTimeout(r, 200));
  assert(signalGroup(process, "SIGKILL"));
  await waitForExit(process);
  await new Promise((r) => setTimeout(r, 100));
  const left = new Deno.Command("pgrep", { args: ["-f", marker] }).outputSync();
  assertEquals(new TextDecoder().decode(left.stdout).trim(), "");
});

Deno.test("a process recorded with another start time is not mistaken for the one that ended", async () => {
  const process = spawnDetached(["sleep", "5"]);
  const impostor = { pid: process.pid, startTime: "1" };
  assert(!isAlive(impostor));
  await waitForExit(impostor);
  assert(!signalGroup(impostor, "SIGTERM"));
  assert(signalGroup(process, "SIGTERM"));
  await waitForExit(process);
});

Deno.test("a detached process's stderr can go to a file that outlives its parent", async () => {
  const dir = await Deno.makeTempDir();
  const process = spawnDetached(["sh", "-c", "echo oops >&2; exit 3"], { stderrFile: `${dir}/stderr.txt` });
  await waitForExit(process);
  assertEquals(await Deno.readTextFile(`${dir}/stderr.txt`), "oops\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("processes whose command line names a directory are killed, and no others", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-kill-" });
  const sleeper = (...extra: string[]) =>
    new Deno.Command("/usr/bin/python3", { args: ["-c", "import time; time.sleep(30)", ...extra] }).spawn();
  const inside = sleeper(`${dir}/marker`);
  const outside = sleeper("elsewhere");
  try {
    // Until python has started, its command line may not show the marker yet.
    let pids: number[] = [];
    for (let i = 0; i < 50 && pids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pids = await killProcessesUnder(dir);
    }
    assertEquals(pids, [inside.pid]);
    assertEquals((await inside.status).signal, "SIGKILL");
  } finally {
    outside.kill("SIGKILL");
    await outside.status;
    await Deno.remove(dir, { recursive: true });
  }
});
