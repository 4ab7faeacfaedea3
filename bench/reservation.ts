/**
 * A reserved board's console, through the whole lab (the QEMU device, its
 * dispatch process, the worker, the master) and real Chromium:
 *
 * - keystroke → echo: a key sent from the browser's WebSocket until the shell's
 *   echo of it comes back to the browser, a key at a time. Target: p99 < 50 ms.
 * - what the console sustains to 10 viewers at once (WebSocket clients of the
 *   master): the device prints 200,000 numbered lines; bytes per second until
 *   every viewer has seen the last one.
 *
 *   deno task bench reservation
 */
import { chromium } from "playwright-core";
import { stringify } from "yaml";
import { ApiClient } from "../master/cli/api_client.ts";
import { ConsoleConnection } from "../master/cli/console.ts";
import { qemuJob } from "../tests/support/dut.ts";
import { QEMU_DICTIONARY, startTestLab, waitForJob } from "../tests/support/lab.ts";
import { CHROMIUM_ARGS } from "../tests/support/chromium.ts";
import { Condition } from "../tests/support/wait.ts";

const KEYS = 300;
const VIEWERS = 10;
const FLOOD_LINES = 200_000;

export interface ReservationBenchResult {
  readonly keystroke: { readonly p50: number; readonly p99: number; readonly max: number; readonly samples: number };
  readonly flood: { readonly bytes: number; readonly seconds: number; readonly viewers: number };
}

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];

export async function runReservationBench(): Promise<ReservationBenchResult> {
  const lab = await startTestLab();
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const viewers: ConsoleConnection[] = [];
  try {
    await lab.addWorker("w1");
    await lab.addDevice("qemu01", "qemu", "w1", QEMU_DICTIONARY);
    const reserved = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/reservations", {
      device: "qemu01",
      minutes: 20,
      boot: stringify(qemuJob({ name: "boot to a shell" })),
    });
    const id = reserved.body.job_ids[0];
    await waitForJob(lab, id, (d) => d.state === "Running", 120_000);

    const page = await browser.newPage();
    await page.goto(`${lab.master.url}/login`);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=token]", lab.token);
    await page.click("button[type=submit]");
    await page.waitForURL(`${lab.master.url}/`);
    // The browser's own WebSocket, a key at a time: each typed letter, then a backspace, each waited for.
    const times = await page.evaluate(async ({ job, keys }) => {
      const csrf = document.querySelector<HTMLMetaElement>("meta[name=csrf-token]")!.content;
      const socket = new WebSocket(`ws://${location.host}/api/v1/jobs/${job}/console?csrf=${csrf}`);
      let output = "";
      let wake = () => {};
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.t === "output") output += frame.data;
        if (frame.t === "state" || frame.t === "output") wake();
      };
      const until = (test: () => boolean) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no echo: ${JSON.stringify(output.slice(-80))}`)), 10_000);
          const check = () => test() && (clearTimeout(timer), resolve());
          wake = check;
          check();
        });
      await new Promise((resolve) => socket.onopen = resolve);
      await until(() => output.includes("/ # "));
      const samples: number[] = [];
      for (let i = 0; i < keys; i++) {
        const key = "abcdefghijklmnopqrstuvwxyz"[i % 26];
        output = "";
        const started = performance.now();
        socket.send(JSON.stringify({ t: "input", data: key }));
        await until(() => output.includes(key));
        samples.push(performance.now() - started);
        output = "";
        socket.send(JSON.stringify({ t: "input", data: "\x7f" }));
        await until(() => output.includes("\b"));
      }
      socket.close();
      return samples;
    }, { job: id, keys: KEYS });
    times.sort((a, b) => a - b);

    // Ten viewers while the device prints as fast as its serial line goes.
    const changed = new Condition();
    const seen = new Array(VIEWERS).fill("");
    const done = new Array(VIEWERS).fill(false);
    const client = new ApiClient(lab.master.url, lab.token);
    for (let v = 0; v < VIEWERS; v++) {
      viewers.push(
        await ConsoleConnection.open(client, id, (frame) => {
          if (frame.t !== "output" || done[v]) return;
          seen[v] = (seen[v] + frame.data).slice(-64);
          if (seen[v].includes(`\n${FLOOD_LINES}\r`)) {
            done[v] = true;
            changed.notify();
          }
        }),
      );
    }
    // The first viewer to join took the keyboard.
    const started = performance.now();
    viewers[0].send({ t: "input", data: `seq 1 ${FLOOD_LINES}\r` });
    await changed.until(() => done.every(Boolean), 600_000, "every viewer seeing the last line");
    const seconds = (performance.now() - started) / 1000;
    let bytes = 0;
    for (let n = 1; n <= FLOOD_LINES; n++) bytes += String(n).length + 2;
    return {
      keystroke: { p50: at(times, 50), p99: at(times, 99), max: times.at(-1)!, samples: times.length },
      flood: { bytes, seconds, viewers: VIEWERS },
    };
  } finally {
    for (const viewer of viewers) viewer.close();
    await browser.close();
    await lab.close();
  }
}

export function formatReservationBench(r: ReservationBenchResult): string {
  const k = r.keystroke;
  return [
    `keystroke → echo through browser, master, worker and QEMU device (${k.samples} keys): ` +
    `p50 ${k.p50.toFixed(1)} ms, p99 ${k.p99.toFixed(1)} ms, max ${k.max.toFixed(1)} ms (target p99 < 50 ms)`,
    `console output to ${r.flood.viewers} viewers at once: ${(r.flood.bytes / 1024).toFixed(0)} KiB in ` +
    `${r.flood.seconds.toFixed(2)} s = ${(r.flood.bytes / 1024 / r.flood.seconds).toFixed(0)} KiB/s to each viewer`,
  ].join("\n");
}

if (import.meta.main) console.log(formatReservationBench(await runReservationBench()));
