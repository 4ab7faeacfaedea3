/**
 * Boards on real firmware, through the whole lab (master, worker, dispatcher):
 * each device is a virtual board (worker/sim/qemu_board.ts) behind socat and
 * ser2net with a power switch, running the firmware Debian ships for QEMU, and
 * fetching the job's files over TFTP from the worker's TFTP root.
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { startTestLab, waitForJob } from "./support/lab.ts";
import { dutFile } from "./support/dut.ts";
import { SimulatedBoard } from "../worker/sim/lab_board.ts";
import { inlineTest } from "../ops/dut_jobs.ts";

Deno.test("iPXE (QEMU's own ROM) boots a job's kernel and ramdisk over TFTP and runs its tests", async () => {
  // QEMU's user network serves its TFTP root to the guest at 10.0.2.2: that root is the worker's tftp_root.
  const board = await SimulatedBoard.start({
    qemu: (dir) => [
      "qemu-system-x86_64",
      "-m",
      "256",
      "-boot",
      "n",
      "-netdev",
      `user,id=n0,tftp=${dir}/tftp`,
      "-device",
      "e1000,netdev=n0",
    ],
  });
  const tftpRoot = `${board.dir}/tftp`;
  await Deno.mkdir(tftpRoot);
  const lab = await startTestLab({ dispatcherConfig: stringify({ tftp_root: tftpRoot, dispatcher_ip: "10.0.2.2" }) });
  try {
    await lab.addWorker("w1");
    await lab.addDevice(
      "pc01",
      "x86",
      "w1",
      // iPXE polls its UART: typed faster than this, through ser2net, characters are lost (LAVA's default is 500 ms).
      board.dictionary("{% set boot_character_delay = 20 %}", undefined, "x86.jinja2"),
    );
    const job = {
      device_type: "x86",
      job_name: "ipxe ramdisk",
      visibility: "public",
      timeouts: { job: { minutes: 6 }, action: { minutes: 3 } },
      actions: [
        {
          deploy: {
            to: "tftp",
            kernel: { url: `file://${dutFile("vmlinuz")}` },
            ramdisk: { url: `file://${dutFile("initramfs")}`, compression: "gz" },
            os: "oe",
          },
        },
        { boot: { method: "ipxe", commands: "ramdisk", prompts: ["/ # "] } },
        {
          test: {
            timeout: { minutes: 2 },
            definitions: [
              inlineTest("pc", [
                "lava-test-case kernel --shell uname -r",
                "lava-test-case ipxe-cmdline --shell grep -q lava_mac=00:90:05:af:00:7d /proc/cmdline",
              ]),
            ],
          },
        },
      ],
    };
    const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
    assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
    const [id] = submitted.body.job_ids;
    const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 300_000);
    const results = await lab.api<{ results: Record<string, string>[] }>("GET", `/api/v1/jobs/${id}/results`);
    const byName = Object.fromEntries(
      results.body.results.map((
        r,
      ) => [`${r.suite}/${r.name}`, r.result === "fail" ? `fail: ${r.error_msg ?? ""}` : r.result]),
    );
    assertEquals(
      finished.health,
      "Complete",
      `${JSON.stringify(byName)}\n${(await Deno.readTextFile(board.transcript)).slice(-3000)}`,
    );
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/kernel", "0_pc/ipxe-cmdline"]) {
      assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
    }
    const transcript = await Deno.readTextFile(board.transcript);
    assert(transcript.includes("iPXE>"), "iPXE's own prompt was reached");
    // The job's files went to the TFTP root and the end of the job removed them.
    assertEquals([...Deno.readDirSync(tftpRoot)], []);
  } finally {
    await lab.close();
    await board.stop();
  }
});
