/**
 * The U-Boot flow on a simulated board behind a real ser2net, as a lab's serial
 * boards are reached: TFTP deploy, interrupting U-Boot, its command list with
 * character delays, Linux's shell and the test shell — and a dropped serial
 * connection that failure_retry recovers from.
 */
import { parse as parseYaml, stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { inlineTest } from "./support/dut.ts";
import { SimulatedBoard } from "./support/sim_board.ts";
import { renderDevice } from "../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../master/devices/jinja.ts";
import { cpioArchive, gzip } from "../worker/overlay/cpio.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function bootFiles(dir: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${dir}/empty`, { recursive: true });
  await Deno.writeFile(
    `${dir}/ramdisk.cpio.gz`,
    await gzip(await cpioArchive(`${dir}/empty`) as Uint8Array<ArrayBuffer>),
  );
  await Deno.writeTextFile(`${dir}/zImage`, "not really a kernel\n");
  await Deno.writeTextFile(`${dir}/board.dtb`, "not really a device tree\n");
  return { kernel: `${dir}/zImage`, ramdisk: `${dir}/ramdisk.cpio.gz`, dtb: `${dir}/board.dtb` };
}

function ubootJob(files: Record<string, string>, failureRetry: number) {
  return {
    device_type: "sim-uboot-board",
    job_name: "u-boot on the simulated board",
    timeouts: { job: { minutes: 4 }, action: { minutes: 1 } },
    visibility: "public",
    actions: [
      {
        deploy: {
          to: "tftp",
          kernel: { url: `file://${files.kernel}`, type: "zimage" },
          ramdisk: { url: `file://${files.ramdisk}` },
          dtb: { url: `file://${files.dtb}` },
        },
      },
      {
        boot: {
          method: "u-boot",
          commands: "ramdisk",
          failure_retry: failureRetry,
          prompts: ["/ # "],
          timeout: { minutes: 2 },
        },
      },
      {
        test: {
          timeout: { minutes: 1 },
          definitions: [
            inlineTest("on-board", [
              "lava-test-case shell-works --shell true",
              "lava-test-case kernel --shell uname -s",
            ]),
          ],
        },
      },
    ],
  };
}

async function dispatch(
  board: SimulatedBoard,
  job: unknown,
  onRecord?: (r: { lvl: string; msg: unknown }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "basalt-dispatch-" });
  const env = jinjaEnvironment([`${ROOT}master/devices/templates`]);
  const device = renderDevice(env, {
    dictionary: board.dictionary(),
    name: "board1",
    hostname: "board1",
    deviceType: "sim-uboot-board",
  });
  assertEquals(device.errors, []);
  await Deno.writeTextFile(`${dir}/device.yaml`, device.yaml);
  await Deno.writeTextFile(`${dir}/job.yaml`, stringify(job));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}worker/dispatch/main.ts`,
      "--job-id",
      "17",
      "--output-dir",
      `${dir}/out`,
      "--device",
      `${dir}/device.yaml`,
      `${dir}/job.yaml`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const records: { lvl: string; msg: unknown }[] = [];
  let buffer = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const record = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      records.push(record);
      await onRecord?.(record);
    }
  }
  const status = await child.status;
  const result = parseYaml(await Deno.readTextFile(`${dir}/out/result.yaml`)) as Record<string, unknown>;
  await Deno.remove(dir, { recursive: true });
  return { code: status.code, records, result };
}

const caseResults = (records: { lvl: string; msg: unknown }[]) =>
  records.filter((r) => r.lvl === "results").map((r) => r.msg as Record<string, string>);

Deno.test("a job boots the simulated board through U-Boot over ser2net and runs its tests", async () => {
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-boot-files-" });
  try {
    const run = await dispatch(board, ubootJob(await bootFiles(files), 1));
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    const inputs = run.records.filter((r) => r.lvl === "input").map((r) => String(r.msg));
    assert(inputs.some((i) => i.startsWith("tftp 0x40400000 /") && i.endsWith("zImage")), inputs.join("\n"));
    assert(inputs.includes("bootz 0x40400000 0x45000000 0x44000000"), "placeholders were filled in");
    assertEquals(
      caseResults(run.records).filter((r) => r.definition === "0_on-board").map((r) => [r.case, r.result]),
      [["shell-works", "pass"], ["kernel", "pass"]],
    );
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("a serial connection dropped during boot is recovered by failure_retry", async () => {
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-boot-files-" });
  let dropped = false;
  try {
    const run = await dispatch(board, ubootJob(await bootFiles(files), 2), async (record) => {
      if (!dropped && record.lvl === "target" && String(record.msg).startsWith("U-Boot 2024.01")) {
        dropped = true;
        await board.stopSer2net();
        await board.startSer2net();
      }
    });
    assert(dropped, "the connection was dropped during boot");
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    const errors = run.records.filter((r) => r.lvl === "error").map((r) => String(r.msg));
    assert(errors.some((e) => e.includes("ConnectionClosedError")), errors.join("\n"));
    assert(run.records.some((r) => r.lvl === "warning" && String(r.msg).includes("Retrying")));
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("without failure_retry a dropped connection ends the job as an infrastructure failure", async () => {
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-boot-files-" });
  let dropped = false;
  try {
    const run = await dispatch(board, ubootJob(await bootFiles(files), 1), async (record) => {
      if (!dropped && record.lvl === "target" && String(record.msg).startsWith("U-Boot 2024.01")) {
        dropped = true;
        await board.stopSer2net();
      }
    });
    assertEquals(
      [run.code, run.result.result, run.result.error_type],
      [1, "fail", "Infrastructure"],
      JSON.stringify(run.result) +
        run.records.filter((r) => r.lvl === "error" || r.lvl === "exception").map((r) => String(r.msg)).join("\n"),
    );
    assertEquals(await board.power("state"), "off", "the board was powered off at the end");
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
});
