/**
 * What the actions of one job share while it runs: the job, the device's
 * resources, the log, what deploys hand to boots and tests (downloaded files, the
 * overlay) and what boots hand to tests (the console, the power driver, the
 * prompt). What the actions of one strategy hand each other stays in that
 * strategy (see strategy.ts).
 */
import { join } from "../../actors/path.ts";
import type { PipelineAction } from "../../actors/definitions/pipeline.ts";
import type { MultinodeClient } from "../drivers/multinode.ts";
import { isMapping } from "../../actors/definitions/schema.ts";
import type { Console } from "../drivers/console.ts";
import { type PowerDriver, ShellPower } from "../drivers/power.ts";
import type { DeviceResources } from "../resources/device.ts";
import { type OverlayBuilder, overlayDevicePath } from "../overlay/build.ts";
import type { JobLog } from "../job/log.ts";

export type Block = Record<string, unknown>;

export interface JobContextOptions {
  readonly jobId: string;
  readonly job: Block;
  readonly device: Block;
  readonly resources: DeviceResources;
  readonly dispatcher: Block;
  readonly envDut: Block;
  readonly outputDir: string;
  /** Scratch space for this job: downloads, overlay, images. */
  readonly workDir: string;
  /** Downloads kept across jobs (by URL and checksum). */
  readonly cacheDir?: string;
  /** Directories `file://` URLs and local git repositories may be read from. */
  readonly fileDirs: readonly string[];
  /** The largest download, once decompressed. */
  readonly maxDownloadBytes?: number;
  readonly log: JobLog;
}

export class JobContext {
  readonly jobId: string;
  /** The job whose actions run; a reservation's boot runs another job's deploy and boot meanwhile. */
  job: Block;
  readonly device: Block;
  readonly resources: DeviceResources;
  readonly dispatcher: Block;
  readonly envDut: Block;
  readonly outputDir: string;
  readonly workDir: string;
  readonly cacheDir?: string;
  readonly fileDirs: readonly string[];
  readonly maxDownloadBytes?: number;
  readonly log: JobLog;
  /** Downloaded files by image key (`kernel`, `rootfs`...). */
  readonly downloads = new Map<string, string>();
  /** While a network deploy downloads: its directory under the TFTP root, where its files go. */
  tftpDir?: string;
  /** The gzipped cpio of the overlay, once compressed. */
  overlayArchive?: Uint8Array;
  overlay?: OverlayBuilder;
  /** The job's unpacked NFS root on the worker, exported to the device (`{NFSROOTFS}`). */
  nfsRoot?: string;
  /** The NBD server a `nbd` deploy started for the device's root (`{NBDSERVERIP}`, `{NBDSERVERPORT}`). */
  nbdServer?: { readonly ip: string; readonly port: number };
  /** Whether the overlay is already on the device (inside its initramfs). */
  overlayOnDevice = false;
  /** The overlay tarball an ssh deploy prepared for the ssh boot to copy with scp. */
  scpOverlay?: string;
  /** An ext2 image of the overlay attached as a drive, for disk-image jobs. */
  overlayImage?: string;
  /** The device's console, once connected or booted. */
  console?: Console;
  /** Switches the device's power: its commands, or the QEMU a boot started. */
  power: PowerDriver;
  /** Set once the device is powered off, so a second power-off (finalize, then
   * the dispatcher's own safety net) does not switch a PDU port twice. A boot
   * that powers the device on clears it. */
  poweredOff = false;
  /** The coordinator, for a MultiNode sub-job. */
  multinode?: MultinodeClient;
  /** What the job's action-level MultiNode calls brought, by messageID (dispatch/action_protocols.ts). */
  readonly multinodeData = new Map<string, Readonly<Record<string, string>>>();
  /** The shell prompt to expect after boot (set by the boot action). */
  prompts: string[] = [];
  /** Set when the device printed a kernel panic. */
  kernelPanic?: string;
  /** Action results for the `lava` suite. */
  readonly cleanups: (() => Promise<void>)[] = [];
  /**
   * Runs the actions of another (valid) job on this device, as the dispatcher runs a job's (a reservation's holder
   * booting another kernel); set by the dispatcher, which owns pipelines.
   */
  runJobActions?: (job: Block, signal: AbortSignal) => Promise<void>;

  constructor(options: JobContextOptions) {
    this.jobId = options.jobId;
    this.job = options.job;
    this.device = options.device;
    this.resources = options.resources;
    this.power = new ShellPower(options.resources.power, options.log);
    this.dispatcher = options.dispatcher;
    this.envDut = options.envDut;
    this.outputDir = options.outputDir;
    this.workDir = options.workDir;
    this.cacheDir = options.cacheDir;
    this.fileDirs = options.fileDirs;
    this.maxDownloadBytes = options.maxDownloadBytes;
    this.log = options.log;
  }

  /** Where a download is saved: the deploy's TFTP directory during a network deploy, else the scratch space. */
  get downloadDir(): string {
    return this.tftpDir ?? join(this.workDir, "downloads");
  }

  /** The device's `lava_test_results_dir` for this job: `/lava-42`. */
  get deviceRoot(): string {
    return overlayDevicePath(this.resources.testResultsDir, this.jobId);
  }

  characterDelay(section: "boot" | "test"): number {
    return this.resources.characterDelays[section];
  }

  /** A test action block's stage: its index among the job's test actions (-1 for none of them). */
  testStage(block: Block): number {
    const tests = (Array.isArray(this.job.actions) ? this.job.actions : [])
      .filter((entry): entry is Block => isMapping(entry) && isMapping(entry.test))
      .map((entry) => entry.test);
    return tests.indexOf(block);
  }

  /** The deploy action block that precedes test stage `stage` (for its `os`). */
  deployOs(): string | undefined {
    for (const entry of (Array.isArray(this.job.actions) ? this.job.actions : []) as Block[]) {
      if (isMapping(entry.deploy) && typeof entry.deploy.os === "string") return entry.deploy.os;
    }
    return undefined;
  }
}

/** An action's implementation: the work of one pipeline node (children run through `children`). */
export type ActionImplementation = (run: ActionRun) => Promise<void>;

export interface ActionRun {
  readonly ctx: JobContext;
  readonly action: PipelineAction;
  /** The job's action block this action belongs to. */
  readonly block: Block;
  /** Aborts at the action's timeout, the job's, or on cancellation. */
  readonly signal: AbortSignal;
  /** Runs the action's child actions in order (each with its own timeout and retries). */
  children(filter?: (child: PipelineAction) => boolean): Promise<void>;
  /** Runs one child action. */
  child(child: PipelineAction): Promise<void>;
  /** Milliseconds left before this action's timeout. */
  remainingMs(): number;
}
