/**
 * `deno task demo` from a fresh data directory: the lab comes up, the sample job
 * and the MultiNode job finish and pass, the web UI shows them, and Ctrl-C
 * (SIGINT to the whole process group, as a terminal sends it) stops every
 * process the demo started, once and cleanly.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { TestProcess } from "./support/process.ts";

Deno.test("the demo lab runs a sample job and a MultiNode job, shows them on the web and stops on Ctrl-C", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-demo-" });
  // In a session of its own, so that its process group is the demo's alone, as in a terminal.
  const demo = new TestProcess(
    "demo",
    "setsid",
    [Deno.execPath(), "task", "--quiet", "demo", "--data-dir", dir, "--port", "0"],
    { cwd: new URL("..", import.meta.url).pathname },
  );
  try {
    const banner = await demo.waitFor(
      (e) => e.event === "text" && String(e.line).includes("Ctrl-C stops"),
      240_000,
      "banner",
    );
    assert(banner);
    const text = demo.events.map((e) => String(e.line ?? "")).join("\n");
    const url = /Web UI\s+(\S+)\//.exec(text)![1];
    const token = /Admin token (\S+)/.exec(text)![1];
    const jobs = [...text.matchAll(/\/jobs\/(\d+(?:\.\d+)?)/g)].map((m) => m[1]);
    assertEquals(jobs.length, 3, text);
    const health = async (id: string) => {
      for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
        const job = await fetch(`${url}/api/v1/jobs/${id}`, { headers: { Authorization: `Token ${token}` } }).then((
          r,
        ) => r.json());
        if (job.state === "Finished") return job.health;
        await new Promise((r) => setTimeout(r, 500));
      }
      return "not finished";
    };
    assertEquals(await Promise.all(jobs.map(health)), ["Complete", "Complete", "Complete"]);
    const overview = await fetch(`${url}/`).then((r) => r.text());
    for (const id of jobs) assertStringIncludes(overview, `data-job="${id}"`);
    const page = await fetch(`${url}/jobs/${jobs[1]}`).then((r) => r.text());
    assertStringIncludes(page, "MultiNode group");
    assertStringIncludes(page, "Complete");
    Deno.kill(-demo.pid, "SIGINT");
    const status = await demo.exited;
    assertEquals(status.code, 130);
    const said = [...demo.events.map((e) => String(e.line ?? "")), ...demo.stderr].join("\n");
    assertEquals(said.match(/stopping the lab/g)?.length, 1, said);
    assertEquals(/TypeError|Uncaught/.test(said), false, said);
    const left = new Deno.Command("pgrep", { args: ["-f", dir] }).outputSync();
    assertEquals(new TextDecoder().decode(left.stdout).trim(), "", "the demo left processes behind");
  } finally {
    await demo.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
