/**
 * The dispatcher's cost on top of the device's own time.
 *
 * - The QEMU end-to-end job (deploy tmpfs → boot qemu → one inline test), run by
 *   the dispatcher in this process: wall and CPU time per top-level action, and
 *   the device's own time — from QEMU's start to the test run's last signal.
 *   Target: the whole job within 1.5 s of the device's time. The same job as a
 *   `deno task dispatch` process gives the figure with Deno's start-up included.
 * - Byte to log: the simulated board behind ser2net prints the host clock
 *   (`/bin/date +%s%N`) from its shell; the delay to the record carrying that
 *   line is what a line takes from the device to the log. Target: under 50 ms.
 * - iPXE (QEMU's own ROM), GRUB (netbooted by that ROM) and UEFI (OVMF's shell) on virtual PCs, and
 *   Debian's U-Boot on an arm64 QEMU virt board (a ramdisk, an NFS root served
 *   by nfs-ganesha, an NBD root served by nbd-server), each behind ser2net: power-on
 *   to the test shell, the device's time (power-on to the end of the test run:
 *   firmware, typed commands, TFTP, kernel) and the dispatcher's overhead on top
 *   of it, the TFTP (and NFS root) preparation included. Target: overhead within 5 % of the
 *   device's time.
 * - Fastboot flash throughput (bench/fastboot_flash.ts): Basalt's flash against the raw
 *   `fastboot` client on the same image and simulated board. Target: ≥ 0.95 of raw.
 *
 *   deno task bench dispatch
 */
import process from "node:process";
import { parse, stringify } from "yaml";
import { startGanesha } from "../tests/support/ganesha.ts";
import type { LogRecord } from "../worker/job/log.ts";
import { runJob } from "../worker/dispatch/run.ts";
import { inlineTest, qemuDeviceYaml, qemuJob } from "../tests/support/dut.ts";
import { boardDeviceYaml, bootFiles, SimulatedBoard, ubootJob } from "../tests/support/sim_board.ts";
import {
  depthchargeBoard,
  depthchargeDictionary,
  grubBoard,
  grubDictionary,
  ipxeBoard,
  ipxeDictionary,
  ipxeJob,
  menuBoard,
  menuDictionary,
  ubootBoard,
  ubootDictionary,
  ubootJob as arm64UbootJob,
  ubootNbdJob,
  ubootNfsJob,
  uefiBoard,
  uefiDictionary,
  withTftpServer,
} from "../tests/support/firmware.ts";
import { BUILTIN_TEMPLATES, renderDevice } from "../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../master/devices/jinja.ts";
import { type FlashThroughput, flashThroughput, formatFlashThroughput } from "./fastboot_flash.ts";

export interface ActionCost {
  readonly action: string;
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface DispatchBenchResult {
  readonly actions: ActionCost[];
  readonly jobWallMs: number;
  readonly jobCpuMs: number;
  readonly deviceMs: number;
  readonly processWallMs: number;
  readonly latencyMs: { readonly samples: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly firmware: readonly FirmwareFigures[];
  readonly fastbootFlash?: FlashThroughput;
}

export interface FirmwareFigures {
  readonly name: string;
  readonly powerOnToShellMs: number;
  readonly deviceMs: number;
  readonly jobWallMs: number;
  readonly deployMs: number;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface Stamped {
  readonly record: LogRecord;
  readonly at: number;
  readonly cpu: number;
  /** Wall-clock time in ms since the epoch, with sub-millisecond precision. */
  readonly epochMs: number;
}

async function runInProcess(
  job: unknown,
  device: string,
  fileDirs?: readonly string[],
  dispatcher?: string,
): Promise<{ stamped: Stamped[]; result: string }> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-dispatch-" });
  const stamped: Stamped[] = [];
  const outcome = await runJob({
    jobId: "1",
    definition: stringify(job),
    device,
    outputDir: dir,
    ...(fileDirs ? { fileDirs } : {}),
    ...(dispatcher ? { dispatcher } : {}),
    sinks: [(record) => {
      const at = performance.now();
      stamped.push({ record, at, cpu: cpuMs(), epochMs: performance.timeOrigin + at });
    }],
  });
  await Deno.remove(dir, { recursive: true });
  return { stamped, result: outcome.result + (outcome.errorMsg ? `: ${outcome.errorMsg}` : "") };
}

function actionCosts(stamped: Stamped[]): ActionCost[] {
  const costs: ActionCost[] = [];
  const open = new Map<string, Stamped>();
  for (const s of stamped) {
    const match = typeof s.record.msg === "string" ? /^(start|end): (\d+) (\S+)/.exec(s.record.msg) : null;
    if (!match) continue;
    const key = `${match[2]} ${match[3]}`;
    if (match[1] === "start") open.set(key, s);
    else if (open.has(key)) {
      const begin = open.get(key)!;
      costs.push({ action: key, wallMs: s.at - begin.at, cpuMs: s.cpu - begin.cpu });
    }
  }
  return costs;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function qemuFigures(): Promise<Omit<DispatchBenchResult, "latencyMs" | "processWallMs" | "firmware">> {
  const job = qemuJob({ tests: [inlineTest("bench", ["lava-test-case bench --result pass"])] });
  const device = qemuDeviceYaml();
  await runInProcess(job, device); // warm: the page cache, the JIT
  const started = performance.now();
  const startCpu = cpuMs();
  const { stamped, result } = await runInProcess(job, device);
  const jobWallMs = performance.now() - started;
  const jobCpuMs = cpuMs() - startCpu;
  if (!result.startsWith("pass")) throw new Error(`the QEMU job did not pass: ${result}`);
  const boot = stamped.find((s) => String(s.record.msg).startsWith("Boot command:"));
  const endRun = stamped.findLast((s) =>
    s.record.lvl === "target" && String(s.record.msg).includes("LAVA_SIGNAL_ENDRUN")
  );
  if (!boot || !endRun) throw new Error("the QEMU job's log lacks its boot command or end of run");
  return { actions: actionCosts(stamped), jobWallMs, jobCpuMs, deviceMs: endRun.at - boot.at };
}

async function processWall(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bench-dispatch-" });
  await Deno.writeTextFile(
    `${dir}/job.yaml`,
    stringify(qemuJob({ tests: [inlineTest("bench", ["lava-test-case bench --result pass"])] })),
  );
  await Deno.writeTextFile(`${dir}/device.yaml`, qemuDeviceYaml());
  const main = new URL("../worker/dispatch/main.ts", import.meta.url).pathname;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      main,
      "--job-id",
      "1",
      "--output-dir",
      `${dir}/out`,
      "--device",
      `${dir}/device.yaml`,
      `${dir}/job.yaml`,
    ],
    stderr: "null",
  }).output();
  const wall = performance.now() - started;
  await Deno.remove(dir, { recursive: true });
  if (!output.success) throw new Error("deno task dispatch did not pass the QEMU job");
  return wall;
}

async function latency(): Promise<DispatchBenchResult["latencyMs"]> {
  const board = await SimulatedBoard.start();
  const files = await Deno.makeTempDir({ prefix: "basalt-bench-board-" });
  try {
    const steps = ["for i in $(seq 1 200); do echo clock=$(/bin/date +%s%N); sleep 0.02; done"];
    const job = ubootJob(await bootFiles(files), 1, [inlineTest("clock", steps)]);
    // The board's files are made in a temporary directory, which the dispatcher must be allowed to read.
    const { stamped, result } = await runInProcess(job, boardDeviceYaml(board), [files]);
    if (!result.startsWith("pass")) throw new Error(`the board job did not pass: ${result}`);
    const delays = stamped.flatMap((s) => {
      const match = s.record.lvl === "target" ? /^clock=(\d{19})$/.exec(String(s.record.msg).trim()) : null;
      return match ? [s.epochMs - Number(BigInt(match[1]) / 1000n) / 1000] : [];
    }).sort((a, b) => a - b);
    if (delays.length < 100) throw new Error(`only ${delays.length} clock lines reached the log`);
    return { samples: delays.length, p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays.at(-1)! };
  } finally {
    await board.stop();
    await Deno.remove(files, { recursive: true });
  }
}

const FIRMWARE = [
  {
    name: "iPXE board (QEMU's ROM, TFTP, behind ser2net)",
    board: () => ipxeBoard(),
    dictionary: ipxeDictionary,
    deviceType: "x86",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "ipxe", deviceType: "x86" }),
  },
  {
    name: "GRUB PC (netbooted by QEMU's ROM, TFTP, behind ser2net)",
    board: grubBoard,
    dictionary: grubDictionary,
    deviceType: "x86-grub",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "grub", deviceType: "x86-grub" }),
  },
  {
    name: "UEFI PC (Debian's OVMF, its shell's tftp, the kernel's EFI stub, behind ser2net)",
    board: uefiBoard,
    dictionary: (board: SimulatedBoard) => uefiDictionary(board),
    deviceType: "x86-uefi",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "uefi", deviceType: "x86-uefi" }),
  },
  {
    name: "PC behind a numbered UEFI menu, uefi-menu (a TFTP entry added in its Boot Manager, fetched, booted)",
    board: async () => withTftpServer(await menuBoard()),
    dictionary: menuDictionary,
    deviceType: "x86-uefi-menu",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "uefi-menu", deviceType: "x86-uefi-menu" }),
  },
  {
    name: "PC behind a numbered UEFI menu, grub-efi (OVMF PXE-boots GRUB EFI, TFTP)",
    board: menuBoard,
    dictionary: menuDictionary,
    deviceType: "x86-uefi-menu",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "grub-efi", deviceType: "x86-uefi-menu" }),
  },
  {
    name: "x86 Chromebook, depthcharge (tftpboot of the kernel, cmdline file and ramdisk)",
    board: async () => withTftpServer(await depthchargeBoard()),
    dictionary: depthchargeDictionary,
    deviceType: "x86-depthcharge",
    job: (steps: string[]) => ipxeJob(steps, "bench", { method: "depthcharge", deviceType: "x86-depthcharge" }),
  },
  {
    name: "arm64 board (Debian's U-Boot on QEMU virt, TFTP, booti, behind ser2net)",
    board: ubootBoard,
    dictionary: ubootDictionary,
    deviceType: "qemu-aarch64-uboot",
    job: (steps: string[]) => arm64UbootJob(steps, "bench"),
  },
  {
    name: "arm64 board, NFS root (U-Boot, TFTP, booti, the root from nfs-ganesha over NFSv4)",
    board: async () => {
      const ganesha = await startGanesha();
      const uboot = await ubootBoard();
      nfsPort = ganesha.port;
      return {
        ...uboot,
        dispatcherConfig: stringify({ ...parse(uboot.dispatcherConfig) as object, ...ganesha.dispatcherConfig }),
        release: () => ganesha.stop(),
      };
    },
    dictionary: ubootDictionary,
    deviceType: "qemu-aarch64-uboot",
    job: (steps: string[]) => ubootNfsJob(steps, "bench", nfsPort),
  },
  {
    name: "arm64 board, NBD root (U-Boot, TFTP, booti, the root from the job's nbd-server, transfer_overlay)",
    board: ubootBoard,
    dictionary: ubootDictionary,
    deviceType: "qemu-aarch64-uboot",
    job: (steps: string[]) => ubootNbdJob(steps, "bench"),
  },
];
/** The port of the NFS server the NFS-root board's job is served by. */
let nfsPort = 0;

async function firmwareFigures(kind: (typeof FIRMWARE)[number]): Promise<FirmwareFigures> {
  const setUp = await kind.board();
  const { board, dispatcherConfig } = setUp;
  try {
    const job = kind.job(["lava-test-case bench --result pass"]);
    const device = renderDevice(jinjaEnvironment([BUILTIN_TEMPLATES]), {
      dictionary: kind.dictionary(board),
      name: "pc01",
      hostname: "pc01",
      deviceType: kind.deviceType,
      context: (job.context ?? {}) as Record<string, unknown>,
    });
    const started = performance.now();
    const { stamped, result } = await runInProcess(job, device.yaml, undefined, dispatcherConfig);
    const jobWallMs = performance.now() - started;
    if (!result.startsWith("pass")) throw new Error(`the ${kind.name} job did not pass: ${result}`);
    const at = (pattern: RegExp) => stamped.find((s) => pattern.test(String(s.record.msg)))?.at;
    const powerOn = at(/^start: \S+ pdu-reboot/);
    const shell = at(/^end: \S+ login-action/);
    const endRun = stamped.findLast((s) =>
      s.record.lvl === "target" && String(s.record.msg).includes("LAVA_SIGNAL_ENDRUN")
    )?.at;
    // The job's deploy (tftp-deploy, nbd-deploy): its first top-level action.
    const deploy = actionCosts(stamped).find((a) => a.action.startsWith("1 "));
    if (powerOn === undefined || shell === undefined || endRun === undefined || !deploy) {
      const lacks = Object.entries({ "power-on": powerOn, login: shell, "end of run": endRun, deploy })
        .filter(([, at]) => at === undefined).map(([what]) => what);
      throw new Error(`the ${kind.name} job's log lacks its ${lacks.join(", ")}`);
    }
    return {
      name: kind.name,
      powerOnToShellMs: shell - powerOn,
      deviceMs: endRun - powerOn,
      jobWallMs,
      deployMs: deploy.wallMs,
    };
  } finally {
    await board.stop();
    await setUp.release?.();
  }
}

export async function runDispatchBench(): Promise<DispatchBenchResult> {
  const qemu = await qemuFigures();
  const firmware: FirmwareFigures[] = [];
  // BENCH_FIRMWARE picks rows by a word of their names (e.g. "menu"), to measure one device type again.
  const only = Deno.env.get("BENCH_FIRMWARE");
  for (const kind of FIRMWARE.filter((k) => !only || k.name.includes(only))) firmware.push(await firmwareFigures(kind));
  const fastbootFlash = !only || "fastboot".includes(only) ? await flashThroughput() : undefined;
  return { ...qemu, processWallMs: await processWall(), latencyMs: await latency(), firmware, fastbootFlash };
}

export function formatDispatchBench(r: DispatchBenchResult): string {
  const ms = (n: number) => `${n.toFixed(0).padStart(6)} ms`;
  const overhead = r.jobWallMs - r.deviceMs;
  return [
    "QEMU job, dispatcher in this process (top-level actions):",
    ...r.actions.map((a) => `  ${a.action.padEnd(28)} wall ${ms(a.wallMs)}   cpu ${ms(a.cpuMs)}`),
    `  whole job                    wall ${ms(r.jobWallMs)}   cpu ${ms(r.jobCpuMs)}`,
    `  device (QEMU start → end of test run)  ${ms(r.deviceMs)}`,
    `  dispatcher overhead          ${ms(overhead)}  (target < 1500 ms: ${overhead < 1500 ? "met" : "MISSED"})`,
    `  as a deno task dispatch process, Deno start-up included: wall ${ms(r.processWallMs)} ` +
    `(overhead ${ms(r.processWallMs - r.deviceMs)})`,
    `byte to log on the simulated board over ser2net (${r.latencyMs.samples} lines): p50 ${
      r.latencyMs.p50.toFixed(1)
    } ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, max ${r.latencyMs.max.toFixed(1)} ms (target < 50 ms: ${
      r.latencyMs.p99 < 50 ? "met" : "MISSED"
    })`,
    ...r.firmware.flatMap((f) => {
      const overhead = f.jobWallMs - f.deviceMs;
      return [
        `${f.name}, dispatcher in this process:`,
        `  power-on → test shell          ${ms(f.powerOnToShellMs)}`,
        `  device (power-on → end of test run)  ${ms(f.deviceMs)}`,
        `  deploy (downloads, ramdisk or NFS root with the overlay, NBD server)  ${ms(f.deployMs)}`,
        `  dispatcher overhead          ${ms(overhead)}  (${(overhead / f.deviceMs * 100).toFixed(1)} % of the ` +
        `device's time; target ≤ 5 %: ${overhead <= 0.05 * f.deviceMs ? "met" : "MISSED"})`,
      ];
    }),
    ...(r.fastbootFlash ? [formatFlashThroughput(r.fastbootFlash)] : []),
  ].join("\n");
}

if (import.meta.main) console.log(formatDispatchBench(await runDispatchBench()));
