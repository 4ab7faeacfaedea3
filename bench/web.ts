/**
 * The web UI under load, with a real master (embedded database) and real
 * Chromium:
 *
 * - a job page whose log has 1,000,000 lines: time to first byte, and time until
 *   the browser shows the log's last lines. Target: first log lines under 300 ms.
 * - a line the device prints (the simulated board over ser2net, printing the
 *   host clock) until the browser following the job shows it. Target: 250 ms.
 * - the master's memory while 50 clients follow a live log over server-sent
 *   events (the stream a browser's log viewer uses).
 *
 *   deno task bench web
 */
import { chromium } from "playwright-core";
import { sql } from "kysely";
import { stringify } from "yaml";
import { inlineTest } from "../tests/support/dut.ts";
import { startTestLab, waitForJob } from "../tests/support/lab.ts";
import { bootFiles, SimulatedBoard, ubootJob } from "../tests/support/sim_board.ts";
import { CHROMIUM_ARGS } from "../tests/support/chromium.ts";

const LINES = 1_000_000;
const FOLLOWERS = 50;

export interface WebBenchResult {
  readonly ttfbMs: number;
  readonly htmlMs: number;
  readonly browserFirstLinesMs: number;
  readonly lineToBrowserMs: { p50: number; p99: number; max: number; samples: number };
  readonly rssBeforeMiB: number;
  readonly rssWithFollowersMiB: number;
}

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];

export async function runWebBench(): Promise<WebBenchResult> {
  const lab = await startTestLab();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-bench-web-" });
  try {
    const db = lab.master.lab.db;
    // A finished job with a million-line log, written straight into the database.
    const user = await db.selectFrom("users").select("id").where("username", "=", "admin").executeTakeFirstOrThrow();
    const job = await db.insertInto("test_jobs").values({
      definition: "job_name: big\n",
      description: "a million lines",
      submitter_id: user.id,
      state: 5,
      health: 1,
    }).returning("id").executeTakeFirstOrThrow();
    await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
      SELECT ${job.id}, i, now(), CASE WHEN i % 10 = 0 THEN 'info' ELSE 'target' END, '"line ' || i || ' of the big log"'
      FROM generate_series(0, ${LINES - 1}) i`.execute(db);
    const url = `${lab.master.url}/jobs/${job.id}`;
    await fetch(url).then((r) => r.text()); // warm
    const started = performance.now();
    const response = await fetch(url);
    const ttfbMs = performance.now() - started;
    const html = await response.text();
    const htmlMs = performance.now() - started;
    if (!html.includes(`line ${LINES - 1} of the big log`)) throw new Error("the page lacks the log's last line");
    const page = await browser.newPage();
    const navStart = performance.now();
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForSelector(`#L${LINES - 1}`);
    const browserFirstLinesMs = performance.now() - navStart;

    // A live job on the board: its clock lines, from the device to the browser.
    await lab.addWorker("w1");
    await lab.addDevice("board1", "sim-uboot-board", "w1", board.dictionary());
    const steps = ["sleep 2", "for i in $(seq 1 100); do echo clock=$(/bin/date +%s%N); sleep 0.05; done"];
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(ubootJob(await bootFiles(files), 1, [inlineTest("clock", steps)])),
    });
    const live = submitted.body.job_ids[0];
    await waitForJob(lab, live, (d) => d.state === "Running", 30_000);
    const rssBefore = Deno.memoryUsage().rss;
    const followers = Array.from({ length: FOLLOWERS }, () => new AbortController());
    const streams = followers.map(async (abort) => {
      const body = (await fetch(`${lab.master.url}/api/v1/jobs/${live}/logs/stream`, { signal: abort.signal })).body!;
      for await (const _ of body) { /* read and drop */ }
    });
    const watcher = await browser.newPage();
    await watcher.goto(`${lab.master.url}/jobs/${live}`);
    await watcher.evaluate(() => {
      const seen: number[] = [];
      (globalThis as unknown as { seen: number[] }).seen = seen;
      new MutationObserver((mutations) => {
        const now = Date.now();
        for (const m of mutations) {
          m.addedNodes.forEach((node) => {
            const text = (node as { textContent?: string }).textContent ?? "";
            const match = /clock=(\d{19})/.exec(text);
            if (match) seen.push(now - Number(BigInt(match[1]) / 1_000_000n));
          });
        }
      }).observe(document.body, { subtree: true, childList: true });
    });
    await waitForJob(lab, live, (d) => d.state === "Finished", 120_000);
    const rssWithFollowers = Deno.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 500));
    const delays = (await watcher.evaluate(() => (globalThis as unknown as { seen: number[] }).seen)).sort((a, b) =>
      a - b
    );
    for (const f of followers) f.abort();
    await Promise.allSettled(streams);
    if (delays.length < 50) throw new Error(`only ${delays.length} clock lines reached the browser`);
    return {
      ttfbMs,
      htmlMs,
      browserFirstLinesMs,
      lineToBrowserMs: { p50: at(delays, 50), p99: at(delays, 99), max: delays.at(-1)!, samples: delays.length },
      rssBeforeMiB: rssBefore / 2 ** 20,
      rssWithFollowersMiB: rssWithFollowers / 2 ** 20,
    };
  } finally {
    await browser.close();
    await lab.close();
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
}

export function formatWebBench(r: WebBenchResult): string {
  return [
    `job page with a ${LINES.toLocaleString("en")}-line log: first byte ${r.ttfbMs.toFixed(0)} ms, whole page ${
      r.htmlMs.toFixed(0)
    } ms; Chromium shows the last lines after ${r.browserFirstLinesMs.toFixed(0)} ms (target < 300 ms: ${
      r.browserFirstLinesMs < 300 ? "met" : "MISSED"
    })`,
    `device line → browser (${r.lineToBrowserMs.samples} lines): p50 ${r.lineToBrowserMs.p50.toFixed(0)} ms, p99 ${
      r.lineToBrowserMs.p99.toFixed(0)
    } ms, max ${r.lineToBrowserMs.max.toFixed(0)} ms (target < 250 ms: ${
      r.lineToBrowserMs.p99 < 250 ? "met" : "MISSED"
    })`,
    `master memory (in-process, with the embedded database): ${
      r.rssBeforeMiB.toFixed(0)
    } MiB, with ${FOLLOWERS} live log followers ${r.rssWithFollowersMiB.toFixed(0)} MiB`,
  ].join("\n");
}

if (import.meta.main) console.log(formatWebBench(await runWebBench()));
