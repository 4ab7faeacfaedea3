/**
 * The jobs fault scenarios run: tick-printing tests on the QEMU device, the
 * simulated board and the U-Boot board (ramdisk or NFS root), a MultiNode pair, and
 * a job whose kernel comes from the lab's download server.
 */
import { join } from "../../actors/path.ts";
import { stringify } from "yaml";
import { bootFiles, inlineTest, qemuJobFor, qemuMultinodeJob, ubootJob } from "../../ops/dut_jobs.ts";
import { dutFile } from "../support/dut.ts";
import { ubootJob as firmwareUbootJob, ubootNfsJob } from "../support/firmware.ts";
import type { FaultLab } from "./lab.ts";
import type { Scenario } from "./scenario.ts";

/** A tick line the device prints: its number. */
export const TICK = /^tick-(\d+)\s*$/;

function tickSteps(n: number): string[] {
  return [`for i in $(seq 1 ${n}); do echo tick-$i; sleep 0.1; done`, "lava-test-case ticked --result pass"];
}

/** The job definitions a scenario submits (a MultiNode job is one definition). */
export async function jobDefinitions(lab: FaultLab, scenario: Scenario): Promise<string[]> {
  const { kind, ticks } = scenario.job;
  const timing = { testSeconds: scenario.job.test_seconds, bootSeconds: scenario.job.boot_seconds };
  if (kind === "qemu-ticks") {
    return [
      stringify(
        qemuJobFor(dutFile, { name: scenario.name, tests: [inlineTest("ticks", tickSteps(ticks))], ...timing }),
      ),
    ];
  }
  if (kind === "download") {
    const job = qemuJobFor(dutFile, { name: scenario.name, tests: [inlineTest("ticks", tickSteps(ticks))], ...timing });
    const deploy = (job.actions as Record<string, Record<string, unknown>>[])[0].deploy;
    const kernel = (deploy.images as Record<string, Record<string, unknown>>).kernel;
    const bytes = await Deno.readFile(dutFile("vmlinux"));
    kernel.url = `${lab.downloadUrl}/vmlinux`;
    kernel.sha256sum = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    deploy.timeout = { seconds: 20 };
    return [stringify(job)];
  }
  if (kind === "uboot-ramdisk" || kind === "uboot-nfs") {
    // On an NFS root each tick is also written to a file there: the device waits on the server at every tick.
    const steps = kind === "uboot-nfs"
      ? [
        `for i in $(seq 1 ${ticks}); do echo tick-$i; echo $i >> /nfs-ticks; sleep 0.1; done`,
        `lava-test-case ticked --shell test "$(wc -l < /nfs-ticks)" -eq ${ticks}`,
      ]
      : tickSteps(ticks);
    const job = kind === "uboot-nfs"
      ? ubootNfsJob(steps, scenario.name, lab.ganesha!.port)
      : firmwareUbootJob(steps, scenario.name);
    // A firmware that never prompts is found out within this, not the job's three-minute action timeout.
    job.timeouts = { ...job.timeouts as object, actions: { "bootloader-interrupt": { seconds: 30 } } };
    return [stringify(job)];
  }
  if (kind === "board-ticks") {
    const files = await bootFiles(join(lab.dir, "board-files"));
    const job = ubootJob(files, scenario.job.failure_retry, [inlineTest("ticks", tickSteps(ticks))]);
    return [stringify({ ...job, job_name: scenario.name })];
  }
  return [stringify(qemuMultinodeJob(dutFile, {
    name: scenario.name,
    roles: {
      server: { deviceType: "qemu", steps: ["lava-send ready port=8080", "echo sent-ready", "lava-sync done"] },
      client: {
        deviceType: "qemu",
        steps: [
          "sleep 6",
          "lava-wait ready",
          "lava-test-case got-it --shell grep -q port=8080 /tmp/lava_multi_node_cache.txt",
          "lava-sync done",
        ],
      },
    },
  }))];
}
