/**
 * A real lab for fault scenarios, every part its own process so any can be
 * killed, stopped or cut: the coordinator, the master (embedded database or a
 * private PostgreSQL), a worker reaching the master through a TCP relay that can
 * be cut, the QEMU device, the simulated board behind ser2net, an arm64 board on
 * Debian's U-Boot with an NFS server (nfs-ganesha) for its root and a TFTP server
 * (dnsmasq) that can be killed, and a download server that can stall or lie. Ports stay fixed for the lab's life, so a
 * restarted process is found where the old one was.
 */
import { join } from "../../actors/path.ts";
import { DeviceHealth } from "../../actors/domain/states.ts";
import { openStorage } from "../../master/storage/database.ts";
import { addUser, issueToken } from "../../master/storage/users.ts";
import { addDevice } from "../../master/storage/devices.ts";
import { addDeviceType } from "../../master/storage/device_types.ts";
import { addWorker } from "../../master/storage/workers.ts";
import { SimulatedBoard } from "../../worker/sim/lab_board.ts";
import { type Cluster, freePort, startCluster } from "../support/postgres.ts";
import { TestProcess } from "../support/process.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import { QEMU_DICTIONARY } from "../support/lab.ts";
import { DUT_DIR } from "../support/dut.ts";
import { UBOOT_ARM64, ubootBoard, ubootDictionary } from "../support/firmware.ts";
import { type Ganesha, startGanesha } from "../support/ganesha.ts";
import { startTftpServer, type TftpServer } from "../support/tftp_server.ts";
import { parse, stringify } from "yaml";

export type DownloadMode = "ok" | "stall" | "corrupt";

export interface FaultLabOptions {
  readonly database: "pglite" | "postgres";
  readonly board: boolean;
  readonly qemuDevices: number;
  /**
   * Workers w1, w2, …: QEMU device N belongs to worker N (the last worker takes
   * the rest), the board to w1. Only w1 reaches the master through the relay.
   */
  readonly workers: number;
  /** The worker's state directory on a tmpfs of this size (MiB): a disk that fills. */
  readonly workerDiskMiB?: number;
  /** The board's power-on command fails. */
  readonly powerFails?: boolean;
  /**
   * The arm64 board `arm64-01` on w1: Debian's U-Boot, or a flash holding nothing that runs (a firmware that never
   * prints its prompt); with an NFS server for the jobs' roots either way.
   */
  readonly uboot?: "u-boot" | "silent";
  /** The arm64 board fetches from a real TFTP server on this machine (which can be killed), not QEMU's own. */
  readonly hostTftp?: boolean;
}

export class FaultLab {
  master!: TestProcess;
  readonly workers: TestProcess[] = [];
  coordinator!: TestProcess;
  proxy!: TcpProxy;
  board?: SimulatedBoard;
  ganesha?: Ganesha;
  tftpServer?: TftpServer;
  cluster?: Cluster;
  token = "";
  downloadMode: DownloadMode = "ok";
  #download?: Deno.HttpServer;
  readonly #ports = {
    http: freePort(),
    zmq: freePort(),
    events: freePort(),
    coordinator: freePort(),
    download: freePort(),
  };
  #dbUrl?: string;
  get #dispatcherConfig(): string {
    return join(this.dir, "dispatcher.yaml");
  }
  #tmpfs?: string;

  private constructor(readonly dir: string, readonly options: FaultLabOptions) {}

  static async start(options: FaultLabOptions): Promise<FaultLab> {
    const dir = await Deno.makeTempDir({ prefix: "basalt-fault-" });
    const lab = new FaultLab(dir, options);
    try {
      await lab.#setUp();
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#ports.http}`;
  }

  get downloadUrl(): string {
    return `http://127.0.0.1:${this.#ports.download}`;
  }

  /** Where worker `index` (0 for w1) keeps its state and its jobs' directories. */
  workerStateDir(index = 0): string {
    return index === 0 ? this.#tmpfs ?? join(this.dir, "worker") : join(this.dir, `worker${index + 1}`);
  }

  /** Which worker (0 for w1) a device belongs to. */
  workerOf(device: string): number {
    const qemu = /^qemu0*(\d+)$/.exec(device);
    return qemu ? Math.min(Number(qemu[1]), this.options.workers) - 1 : 0;
  }

  async #setUp(): Promise<void> {
    if (this.options.database === "postgres") {
      this.cluster = await startCluster({ durable: true });
      const name = `basalt_fault_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      const { default: pg } = await import("pg");
      const admin = new pg.Client({ connectionString: this.cluster.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(this.cluster.url);
      url.pathname = `/${name}`;
      this.#dbUrl = url.toString();
    }
    if (this.options.board) {
      // A one-second window for the interrupt key: the dispatcher sends it as soon as it reads the countdown, so
      // nothing waits for it, but a 100 ms window was missed under CI's load and the board booted past U-Boot.
      this.board = await SimulatedBoard.start({ tickMs: 100, autoboot: 10 });
    }
    let dispatcherConfig: Record<string, unknown> | undefined;
    if (this.options.uboot) {
      let firmware = UBOOT_ARM64;
      if (this.options.uboot === "silent") {
        firmware = join(this.dir, "blank-flash.bin");
        await Deno.writeFile(firmware, new Uint8Array(1 << 20));
      }
      const uboot = await ubootBoard({ firmware, hostTftp: this.options.hostTftp });
      this.board = uboot.board;
      if (this.options.hostTftp) this.tftpServer = await startTftpServer(uboot.tftpRoot);
      this.ganesha = await startGanesha();
      dispatcherConfig = {
        ...parse(uboot.dispatcherConfig) as Record<string, unknown>,
        ...this.ganesha.dispatcherConfig,
      };
    }
    if (dispatcherConfig) await Deno.writeTextFile(this.#dispatcherConfig, stringify(dispatcherConfig));
    if (this.options.workerDiskMiB) {
      this.#tmpfs = join(this.dir, "worker-disk");
      await Deno.mkdir(this.#tmpfs);
      const mount = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", `size=${this.options.workerDiskMiB}m`, "tmpfs", this.#tmpfs],
      }).output();
      if (!mount.success) {
        throw new Error(`cannot mount a tmpfs (needs root): ${new TextDecoder().decode(mount.stderr)}`);
      }
    }
    const storage = await openStorage(
      this.#dbUrl ? { kind: "postgres", url: this.#dbUrl } : { kind: "pglite", dataDir: join(this.dir, "data") },
    );
    const db = storage.db;
    await addUser(db, { username: "admin", superuser: true });
    this.token = (await issueToken(db, "admin")).token;
    for (let i = 1; i <= this.options.workers; i++) await addWorker(db, { hostname: `w${i}` });
    const devices: { hostname: string; type: string; dictionary: string }[] = [];
    for (let i = 1; i <= this.options.qemuDevices; i++) {
      devices.push({ hostname: `qemu0${i}`, type: "qemu", dictionary: QEMU_DICTIONARY });
    }
    if (this.board && this.options.uboot) {
      devices.push({ hostname: "arm64-01", type: "qemu-aarch64-uboot", dictionary: ubootDictionary(this.board) });
    } else if (this.board) {
      // The PDU refuses every switch: a reset and a power-on both fail.
      const refuse = 'sh -c "echo the PDU refused; exit 3"';
      const extra = this.options.powerFails
        ? `{% set power_on_command = '${refuse}' %}\n{% set hard_reset_command = '${refuse}' %}`
        : "";
      devices.push({ hostname: "board01", type: "sim-uboot-board", dictionary: this.board.dictionary(extra) });
    }
    for (const name of new Set(devices.map((d) => d.type))) await addDeviceType(db, { name });
    for (const d of devices) {
      await addDevice(db, {
        hostname: d.hostname,
        deviceType: d.type,
        worker: `w${this.workerOf(d.hostname) + 1}`,
        dictionary: d.dictionary,
        health: DeviceHealth.byName.Good,
      });
    }
    await storage.close();
    this.#download = Deno.serve(
      { hostname: "127.0.0.1", port: this.#ports.download, onListen: () => {} },
      (request) => this.#serveDownload(request),
    );
    this.coordinator = this.#startCoordinator();
    await this.coordinator.waitForEvent("ready", 30_000);
    await this.startMaster();
    this.proxy = TcpProxy.start(this.#ports.zmq);
    for (let i = 0; i < this.options.workers; i++) await this.startWorker(i);
  }

  /** Serves the DUT image: faithfully, stalling after the headers, or with the wrong bytes. */
  async #serveDownload(request: Request): Promise<Response> {
    const name = new URL(request.url).pathname.split("/").pop()!;
    if (!/^[a-z-]+$/.test(name)) return new Response("no", { status: 404 });
    const bytes = await Deno.readFile(join(DUT_DIR, name));
    if (this.downloadMode === "stall") {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 65536));
        },
        pull: () => new Promise(() => {}), // and then nothing, for ever
      });
      return new Response(body, { headers: { "Content-Length": String(bytes.length) } });
    }
    if (this.downloadMode === "corrupt") {
      const copy = bytes.slice();
      for (let i = 4096; i < copy.length; i += 65536) copy[i] ^= 0xff;
      return new Response(copy);
    }
    return new Response(bytes);
  }

  #startCoordinator(): TestProcess {
    return TestProcess.deno("coordinator", "coordinator/main.ts", [
      "--port",
      String(this.#ports.coordinator),
      "--state-dir",
      join(this.dir, "coordinator"),
      "--log-level",
      "error",
    ]);
  }

  async startMaster(): Promise<void> {
    this.master = TestProcess.deno("master", "master/main.ts", [
      ...(this.#dbUrl ? ["--db", this.#dbUrl] : ["--data-dir", join(this.dir, "data")]),
      "--lab-dir",
      join(this.dir, "lab"),
      "--http",
      `127.0.0.1:${this.#ports.http}`,
      "--zmq",
      `tcp://127.0.0.1:${this.#ports.zmq}`,
      "--events",
      `tcp://127.0.0.1:${this.#ports.events}`,
      "--coordinator",
      `127.0.0.1:${this.#ports.coordinator}`,
      "--heartbeat",
      "250",
      "--log-level",
      "error",
    ]);
    await this.master.waitForEvent("ready", 60_000);
  }

  async startWorker(index = 0): Promise<void> {
    const name = `w${index + 1}`;
    this.workers[index] = TestProcess.deno(name, "worker/main.ts", [
      "--name",
      name,
      "--master",
      index === 0 ? this.proxy.endpoint : `tcp://127.0.0.1:${this.#ports.zmq}`,
      "--state-dir",
      this.workerStateDir(index),
      "--file-dirs",
      `${DUT_DIR},${join(this.dir, "board-files")}`,
      ...(this.options.uboot ? ["--dispatcher-config", this.#dispatcherConfig] : []),
      "--heartbeat",
      "250",
      "--cancel-grace",
      "10",
      "--log-level",
      "error",
    ]);
    await this.waitFor(
      async () => (await this.api("GET", `/api/v1/workers/${name}`)).state === "Online",
      30_000,
      `worker ${name} online`,
    );
  }

  async restartCoordinator(): Promise<void> {
    this.coordinator = this.#startCoordinator();
    await this.coordinator.waitForEvent("ready", 30_000);
  }

  async api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0;; attempt++) {
      try {
        const response = await fetch(`${this.url}${path}`, {
          method,
          headers: { Authorization: `Token ${this.token}`, "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return await response.json();
      } catch (error) {
        // The master may be the thing a scenario just restarted.
        if (attempt > 100) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Processes whose command line names `needle`, other than the lab's own. */
  async pids(needle: string): Promise<number[]> {
    const out = await new Deno.Command("pgrep", { args: ["-f", "--", needle], stdout: "piped" }).output();
    const own = new Set([this.master?.pid, ...this.workers.map((w) => w.pid), this.coordinator?.pid, Deno.pid]);
    return new TextDecoder().decode(out.stdout).split("\n").map(Number).filter((p) => p > 0 && !own.has(p));
  }

  async close(): Promise<void> {
    for (const p of [...this.workers, this.master, this.coordinator]) await p?.stop().catch(() => {});
    for (const pid of await this.pids(this.dir).catch(() => [] as number[])) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await this.proxy?.cut().catch(() => {});
    await this.#download?.shutdown().catch(() => {});
    await this.board?.stop();
    await this.ganesha?.stop();
    await this.tftpServer?.kill();
    if (this.#tmpfs) await new Deno.Command("umount", { args: ["-l", this.#tmpfs] }).output();
    await this.cluster?.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
