/**
 * The U-Boot flow on a simulated board behind a real ser2net, as a lab's serial
 * boards are reached: TFTP deploy, interrupting U-Boot, its command list with
 * character delays, Linux's shell and the test shell — and a dropped serial
 * connection that failure_retry recovers from.
 */
import { textStream } from "../actors/text_stream.ts";
import { parse as parseYaml, stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { boardDeviceYaml, bootFiles, SimulatedBoard, ubootJob } from "./support/sim_board.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function dispatch(
  board: SimulatedBoard,
  job: unknown,
  onRecord?: (r: { lvl: string; msg: unknown }) => Promise<void>,
  connection?: string,
  dictionary = "",
) {
  const dir = await Deno.makeTempDir({ prefix: "basalt-dispatch-" });
  await Deno.writeTextFile(`${dir}/device.yaml`, boardDeviceYaml(board, dictionary, connection));
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
      // The board's files are made in the temporary directory.
      "--file-dirs",
      Deno.env.get("TMPDIR") ?? "/tmp",
      `${dir}/job.yaml`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const records: { lvl: string; msg: unknown }[] = [];
  let buffer = "";
  for await (const chunk of textStream(child.stderr)) {
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

Deno.test("a board on a local serial line is reached through serial:// without ser2net", async () => {
  const board = await SimulatedBoard.start({ ser2net: false });
  const files = await Deno.makeTempDir({ prefix: "basalt-boot-files-" });
  try {
    const run = await dispatch(
      board,
      ubootJob(await bootFiles(files), 1),
      undefined,
      `serial://${board.tty}?baud=115200`,
    );
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    assert(run.records.some((r) => r.lvl === "info" && String(r.msg).includes(`serial://${board.tty}`)));
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("a minimal boot runs the job's pre-power and pre-OS commands and reboots a board without hard reset from its shell", async () => {
  const board = await SimulatedBoard.start();
  const marks = await Deno.makeTempDir({ prefix: "basalt-pre-commands-" });
  try {
    // A board already running Linux, as one reached only through its shell is.
    assertEquals(await board.power("on"), "ok");
    const deadline = Date.now() + 20_000;
    while (await board.power("state") !== "linux") {
      assert(Date.now() < deadline, "the board did not reach Linux");
      await new Promise((r) => setTimeout(r, 100));
    }
    const extra = [
      "{% set hard_reset_command = '' %}",
      `{% set pre_power_command = 'touch ${marks}/pre-power' %}`,
      `{% set pre_os_command = 'touch ${marks}/pre-os' %}`,
    ].join("\n");
    const job = {
      device_type: "sim-uboot-board",
      job_name: "minimal boot with a soft reboot",
      timeouts: { job: { minutes: 2 }, action: { minutes: 1 } },
      visibility: "public",
      actions: [{
        boot: {
          method: "minimal",
          pre_power_command: true,
          pre_os_command: true,
          soft_reboot: "reboot",
          prompts: ["/ # "],
          timeout: { minutes: 1 },
        },
      }],
    };
    const run = await dispatch(board, job, undefined, undefined, extra);
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    const started = run.records.filter((r) => String(r.msg).startsWith("start: ")).map((r) => String(r.msg));
    for (const name of ["connect-device", "pre-power-command", "pre-os-command", "send-reboot-commands"]) {
      assert(started.some((s) => s.includes(` ${name} `)), `${name} ran: ${started.join("\n")}`);
    }
    assert(run.records.some((r) => r.lvl === "input" && r.msg === "reboot"), "reboot was typed on the board");
    assert(run.records.some((r) => String(r.msg).includes("The system is going down for reboot NOW")));
    assertEquals([await exists(`${marks}/pre-power`), await exists(`${marks}/pre-os`)], [true, true]);
  } finally {
    await board.stop();
    await Deno.remove(marks, { recursive: true });
  }
});

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a kernel warning during boot is recorded as LAVA's kernel-messages result and the job goes on", async () => {
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-boot-files-" });
  try {
    assertEquals(await board.power("fault warn"), "ok");
    const run = await dispatch(board, ubootJob(await bootFiles(files), 1));
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    const kernel = caseResults(run.records).find((r) => r.case === "kernel-messages") as unknown as {
      result: string;
      extra: { extra: { kind: string; message: string }[] };
    };
    assertEquals(kernel.result, "pass");
    assertEquals(kernel.extra.extra.map((m) => m.kind), ["warning"]);
    assert(kernel.extra.extra[0].message.includes("WARNING: CPU: 0 PID: 1 at drivers/sim/board.c:42"));
    assert(kernel.extra.extra[0].message.endsWith("---[ end trace 0000000000000000 ]---"));
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("a bootloader boot stops at U-Boot and types the job's own commands there", async () => {
  const board = await SimulatedBoard.start();
  try {
    const job = {
      device_type: "sim-uboot-board",
      job_name: "u-boot itself",
      timeouts: { job: { minutes: 2 }, action: { minutes: 1 } },
      visibility: "public",
      actions: [{ boot: { method: "bootloader", bootloader: "u-boot", commands: ["version", "printenv"] } }],
    };
    const run = await dispatch(board, job);
    assertEquals([run.code, run.result.result], [0, "pass"], JSON.stringify(run.result));
    const inputs = run.records.filter((r) => r.lvl === "input").map((r) => String(r.msg));
    assertEquals(inputs.slice(-2), ["version", "printenv"]);
    assert(run.records.some((r) => r.lvl === "target" && String(r.msg).includes("U-Boot 2024.01")));
  } finally {
    await board.stop();
  }
});
