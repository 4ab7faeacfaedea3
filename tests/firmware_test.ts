/**
 * Boards on real firmware, through the whole lab (master, worker, dispatcher):
 * each device is a virtual board (worker/sim/qemu_board.ts) behind socat and
 * ser2net with a power switch, running the firmware Debian ships for QEMU, and
 * fetching the job's files over TFTP from the worker's TFTP root.
 */
import { parse, stringify } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { startTestLab, type TestLab, waitForJob } from "./support/lab.ts";
import {
  arm64DepthchargeJob,
  depthchargeBoard,
  depthchargeDictionary,
  type FirmwareBoard,
  grubBoard,
  grubDictionary,
  ipxeBoard,
  ipxeDictionary,
  ipxeJob,
  menuBoard,
  menuDictionary,
  ubootBoard,
  ubootDictionary,
  ubootJob,
  ubootNbdJob,
  ubootNfsJob,
  uefiBoard,
  uefiDictionary,
  withTftpServer,
} from "./support/firmware.ts";
import { whenChanged } from "../worker/drivers/file_watch.ts";
import { firmwareHealthChecks } from "../ops/dut_jobs.ts";
import { dutFile } from "./support/dut.ts";
import { startGanesha } from "./support/ganesha.ts";

Deno.test("iPXE (QEMU's own ROM) boots a job's kernel and ramdisk over TFTP and runs its tests", async () => {
  const { board, tftpRoot, dispatcherConfig } = await ipxeBoard();
  const lab = await startTestLab({ dispatcherConfig });
  try {
    await lab.addWorker("w1");
    await lab.addDevice(
      "pc01",
      "x86",
      "w1",
      ipxeDictionary(board),
    );
    const job = ipxeJob([
      "lava-test-case kernel --shell uname -r",
      "lava-test-case ipxe-cmdline --shell grep -q lava_mac=00:90:05:af:00:7d /proc/cmdline",
    ]);
    const { finished, byName } = await runJob(lab, job);
    assertEquals(
      finished.health,
      "Complete",
      `${JSON.stringify(byName)}\n${bootloaderPart(await Deno.readTextFile(board.transcript))}`,
    );
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/kernel", "0_pc/ipxe-cmdline"]) {
      assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
    }
    const transcript = await Deno.readTextFile(board.transcript);
    assert(transcript.includes("iPXE>"), "iPXE's own prompt was reached");
    // The job's files went to the TFTP root and the end of the job removed them.
    assertEquals([...Deno.readDirSync(tftpRoot)], []);

    // The same board, described with a prompt its iPXE never prints: the lab's failure, and nothing left running.
    await lab.addDevice(
      "pc02",
      "x86-wrong-prompt",
      "w1",
      ipxeDictionary(board, [
        "{% set ipxe_autoboot_prompt = 'Press F12 for a miracle' %}",
        "{% set action_timeout_bootloader_interrupt = 5 %}",
      ]),
    );
    const hanging = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify({ ...job, device_type: "x86-wrong-prompt", job_name: "ipxe without its prompt" }),
    });
    assertEquals(hanging.status, 201, JSON.stringify(hanging.body));
    const [hangId] = hanging.body.job_ids;
    const ended = await waitForJob(lab, hangId, (d) => d.state === "Finished", 120_000);
    const outcome = await lab.api<{ results: Record<string, string>[] }>("GET", `/api/v1/jobs/${hangId}/results`);
    const jobResult = outcome.body.results.find((r) => r.suite === "lava" && r.name === "job");
    const metadata = (jobResult?.metadata ?? {}) as unknown as Record<string, string>;
    assertEquals(
      [ended.health, metadata.error_type, metadata.error_msg],
      ["Incomplete", "Infrastructure", "bootloader-interrupt timed out after 00:00:05"],
      JSON.stringify(jobResult),
    );
    assertEquals(await board.power("state"), "off", "finalize powered the board off");
    assertEquals([...Deno.readDirSync(tftpRoot)], []);

    // A dispatcher killed while the board boots never runs its finalize: the worker powers the board
    // off for it and removes the job's files from the TFTP root.
    const killed = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", {
      definition: stringify(ipxeJob(["true"], "ipxe, its dispatcher killed")),
    });
    const [killedId] = killed.body.job_ids;
    const boots = async () => (await Deno.readTextFile(board.transcript)).split("SeaBIOS").length;
    const before = await boots();
    await whenChanged(board.transcript, async () => (await boots()) > before, 60_000, "power-on of the board");
    assertEquals([...Deno.readDirSync(tftpRoot)].map((e) => e.name), [killedId]);
    await new Deno.Command("pkill", { args: ["-KILL", "-f", "--", `--job-id ${killedId} --output-dir`] }).output();
    const afterKill = await waitForJob(lab, killedId, (d) => d.state === "Finished", 60_000);
    assertEquals(afterKill.health, "Incomplete");
    assertEquals(await board.power("state"), "off", "the worker powered the board off before it reported the end");
    const empty = () => [...Deno.readDirSync(tftpRoot)].length === 0;
    await whenChanged(tftpRoot, empty, 30_000, "removal of the job's TFTP files");
  } finally {
    await lab.close();
    await board.stop();
  }
});

/** Submits `job`, waits for its end, and gives its results by suite/name ("fail: <error>" for a failure). */
async function runJob(
  lab: TestLab,
  job: Record<string, unknown>,
): Promise<{ finished: Awaited<ReturnType<typeof waitForJob>>; byName: Record<string, string> }> {
  const submitted = await lab.api<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition: stringify(job) });
  assertEquals(submitted.status, 201, JSON.stringify(submitted.body));
  const [id] = submitted.body.job_ids;
  const finished = await waitForJob(lab, id, (d) => d.state === "Finished", 300_000);
  const results = await lab.api<{ results: { suite: string; name: string; result: string; metadata?: unknown }[] }>(
    "GET",
    `/api/v1/jobs/${id}/results`,
  );
  const byName = Object.fromEntries(results.body.results.map((r) => {
    const error = (r.metadata as { error_msg?: string } | undefined)?.error_msg ?? "";
    return [`${r.suite}/${r.name}`, r.result === "fail" ? `fail: ${error}` : r.result];
  }));
  return { finished, byName };
}

/** What was typed at the bootloader and its answers, up to the kernel's first lines, and the transcript's end. */
function bootloaderPart(transcript: string, prompt = "iPXE>"): string {
  const start = transcript.indexOf(prompt);
  const kernel = transcript.indexOf("Linux version", start);
  const typed = start < 0 ? `(no ${prompt})` : transcript.slice(start, kernel < 0 ? start + 4000 : kernel + 300);
  return `${typed}\n...\n${transcript.slice(-1500)}`;
}

Deno.test("GRUB, booted by the PC's PXE ROM, is stopped at its menu and boots a job's kernel and ramdisk over TFTP", async () => {
  const { board, tftpRoot, dispatcherConfig } = await grubBoard();
  const lab = await startTestLab({ dispatcherConfig });
  try {
    await lab.addWorker("w1");
    await lab.addDevice("pc-grub-01", "x86-grub", "w1", grubDictionary(board));
    const job = ipxeJob(["lava-test-case kernel --shell uname -r"], "grub ramdisk", {
      method: "grub",
      deviceType: "x86-grub",
    });
    const { finished, byName } = await runJob(lab, job);
    const transcript = await Deno.readTextFile(board.transcript);
    assertEquals(finished.health, "Complete", `${JSON.stringify(byName)}\n${transcript.slice(-3000)}`);
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/kernel"]) {
      assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
    }
    assert(transcript.includes("GNU GRUB") && transcript.includes("grub>"), "GRUB's own command line was reached");
    // The job's files are gone from the TFTP root; the PC's own GRUB stays.
    assertEquals([...Deno.readDirSync(tftpRoot)].map((e) => e.name).sort(), ["grub", "grub.pxe", "grubx64.efi"]);
  } finally {
    await lab.close();
    await board.stop();
  }
});

Deno.test("UEFI (Debian's OVMF) stops at its shell's countdown, fetches a job's kernel and ramdisk with the shell's tftp and starts the kernel's EFI stub", async () => {
  const { board, tftpRoot, dispatcherConfig, release } = await uefiBoard();
  const lab = await startTestLab({ dispatcherConfig });
  try {
    await lab.addWorker("w1");
    // Added as a lab adds a board, health Unknown: the device type's health check runs first and makes it Good.
    lab.master.lab.labDir.setHealthCheck("x86-uefi", stringify(firmwareHealthChecks(dutFile)["x86-uefi"]));
    const good = new Promise<void>((resolve) => {
      const stop = lab.master.lab.events.subscribe((e) => {
        if (e.kind === "device" && e.data.health === "Good") resolve(stop() as unknown as void);
      });
    });
    await lab.addDevice("uefi-01", "x86-uefi", "w1", uefiDictionary(board), { health: "Unknown" });
    await good;
    const checks = await lab.api<{ results: Record<string, unknown>[] }>("GET", "/api/v1/jobs");
    assertEquals(checks.body.results.map((j) => [j.health_check, j.health]), [[true, "Complete"]]);
    const job = await runJob(
      lab,
      ipxeJob(["lava-test-case efi --shell test -d /sys/firmware/efi"], "uefi shell", {
        method: "uefi",
        deviceType: "x86-uefi",
      }),
    );
    const transcript = await Deno.readTextFile(board.transcript);
    assertEquals(job.finished.health, "Complete", `${JSON.stringify(job.byName)}\n${transcript.slice(-4000)}`);
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/efi"]) {
      assertEquals(job.byName[name], "pass", `${name}: ${JSON.stringify(job.byName)}`);
    }
    assert(transcript.includes("UEFI Interactive Shell"), "OVMF's shell ran");
    assert(transcript.includes("EFI stub: Loaded initrd from command line option"), "the EFI stub took the ramdisk");
    assertEquals([...Deno.readDirSync(tftpRoot)], [], "the job's files left the TFTP root");
  } finally {
    await lab.close();
    await board.stop();
    await release?.();
  }
});

Deno.test("a PC behind a numbered UEFI menu boots a TFTP entry added through its Boot Manager (uefi-menu) and GRUB EFI chosen from it (grub-efi)", async () => {
  const pc = await menuBoard();
  const { board, tftpRoot } = pc;
  // The menu's TFTP entries fetch from this machine's loopback (10.0.2.2 on the board's network).
  await onTftpLab(pc, async (lab) => {
    await lab.addDevice("pc-menu-01", "x86-uefi-menu", "w1", menuDictionary(board));
    const steps = ["lava-test-case kernel --shell uname -r"];
    const menu = await runJob(
      lab,
      ipxeJob(steps, "uefi-menu ramdisk", { method: "uefi-menu", deviceType: "x86-uefi-menu" }),
    );
    let transcript = await Deno.readTextFile(board.transcript);
    assertEquals(menu.finished.health, "Complete", `${JSON.stringify(menu.byName)}\n${transcript.slice(-3000)}`);
    for (const name of ["lava/login-action", "0_pc/kernel"]) {
      assertEquals(menu.byName[name], "pass", `${name}: ${JSON.stringify(menu.byName)}`);
    }
    assert(transcript.includes("[1] LAVA ramdisk test image"), "the entry the job added was in the menu");
    assert(transcript.includes("Loaded: LinuxImage"), "the firmware fetched the kernel and ramdisk over TFTP");

    const grub = await runJob(
      lab,
      ipxeJob(steps, "grub-efi ramdisk", { method: "grub-efi", deviceType: "x86-uefi-menu" }),
    );
    transcript = await Deno.readTextFile(board.transcript);
    assertEquals(grub.finished.health, "Complete", `${JSON.stringify(grub.byName)}\n${transcript.slice(-3000)}`);
    for (
      const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/kernel"]
    ) {
      assertEquals(grub.byName[name], "pass", `${name}: ${JSON.stringify(grub.byName)}`);
    }
    assert(transcript.includes("grub>"), "GRUB EFI's command line was reached");

    // The entry stayed in the firmware across power cycles (the GRUB job's menu listed it); the next uefi-menu job
    // removes it before adding its own, so the menu never fills up.
    const again = await runJob(
      lab,
      ipxeJob(steps, "uefi-menu again", { method: "uefi-menu", deviceType: "x86-uefi-menu" }),
    );
    transcript = await Deno.readTextFile(board.transcript);
    assertEquals(again.finished.health, "Complete", `${JSON.stringify(again.byName)}\n${transcript.slice(-3000)}`);
    assert(transcript.includes("[1] LAVA ramdisk test image\r\n[2] LAVA PXE Grub"), "the entry was kept");
    assert(transcript.includes("Delete entry: "), "the previous entry was removed");
    assert(!transcript.includes("[2] LAVA ramdisk test image"), "never two entries");
    assertEquals(
      [...Deno.readDirSync(tftpRoot)].map((e) => e.name).sort(),
      ["grub", "grub.pxe", "grubx64.efi"],
      "the jobs' files left the TFTP root",
    );
  });
});

Deno.test("a Chromebook's depthcharge fetches the job's kernel, command line and ramdisk (x86) or FIT image (arm64) with tftpboot and boots them", async () => {
  const pc = await depthchargeBoard();
  const { board, tftpRoot } = pc;
  // depthcharge's TFTP client fetches from this machine's loopback (10.0.2.2 on the board's network).
  await onTftpLab(pc, async (lab) => {
    await lab.addDevice("chromebook-01", "x86-depthcharge", "w1", depthchargeDictionary(board));
    const job = ipxeJob(
      ["lava-test-case cmdline --shell grep -q root=/dev/ram0 /proc/cmdline"],
      "depthcharge ramdisk",
      { method: "depthcharge", deviceType: "x86-depthcharge" },
    );
    const { finished, byName } = await runJob(lab, job);
    const transcript = await Deno.readTextFile(board.transcript);
    assertEquals(finished.health, "Complete", `${JSON.stringify(byName)}\n${transcript.slice(-3000)}`);
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_pc/cmdline"]) {
      assertEquals(byName[name], "pass", `${name}: ${JSON.stringify(byName)}`);
    }
    assert(/dpch: tftpboot 10\.0\.2\.2 \S+\/vmlinuz \S+\/cmdline \S+/.test(transcript), "tftpboot was typed");
    assertEquals([...Deno.readDirSync(tftpRoot)], [], "the job's files left the TFTP root");
  });

  // An arm64 Chromebook: the deploy packs kernel, device tree and ramdisk into a FIT image, which tftpboot fetches.
  const arm = await depthchargeBoard("arm64");
  await onTftpLab(arm, async (lab) => {
    await lab.addDevice(
      "chromebook-02",
      "arm64-depthcharge",
      "w1",
      depthchargeDictionary(arm.board, [], "arm64-depthcharge"),
    );
    const { finished, byName } = await runJob(
      lab,
      arm64DepthchargeJob(["lava-test-case arch --shell test $(uname -m) = aarch64"], "depthcharge FIT"),
    );
    const transcript = await Deno.readTextFile(arm.board.transcript);
    assertEquals(finished.health, "Complete", `${JSON.stringify(byName)}\n${transcript.slice(-3000)}`);
    assertEquals(byName["0_arm64/arch"], "pass", JSON.stringify(byName));
    assert(/dpch: tftpboot 10\.0\.2\.2 \S+\/image\.itb \S+\/cmdline\r/.test(transcript), "the FIT image was fetched");
  });
});

/**
 * Runs `work` on a lab with one worker (w1) whose TFTP root is `pc`'s, served by a real TFTP server on this machine's
 * loopback (dnsmasq), which the board's simulated firmware reaches as 10.0.2.2; the lab, the server and the board are
 * stopped after, whatever happened.
 */
async function onTftpLab(board: FirmwareBoard, work: (lab: TestLab) => Promise<void>): Promise<void> {
  const pc = await withTftpServer(board);
  let lab: TestLab | undefined;
  try {
    lab = await startTestLab({ dispatcherConfig: pc.dispatcherConfig });
    await lab.addWorker("w1");
    await work(lab);
  } finally {
    await lab?.close();
    await pc.board.stop();
    await pc.release?.();
  }
}

Deno.test("U-Boot (Debian's u-boot-qemu) on an arm64 board boots a job's Image, ramdisk and device tree over TFTP with booti, an NFS root and an NBD root", async () => {
  const { board, tftpRoot, dispatcherConfig } = await ubootBoard();
  const ganesha = await startGanesha();
  const dir = await Deno.makeTempDir({ prefix: "basalt-uboot-" });
  const lab = await startTestLab({
    dispatcherConfig: stringify({ ...parse(dispatcherConfig) as Record<string, unknown>, ...ganesha.dispatcherConfig }),
    fileDirs: [dir],
  });
  try {
    await lab.addWorker("w1");
    await lab.addDevice("arm64-01", "qemu-aarch64-uboot", "w1", ubootDictionary(board));
    const steps = [
      'lava-test-case arch --shell test "$(uname -m)" = aarch64',
      // The device tree the job deployed is the one the kernel runs on.
      "lava-test-case dtb --shell grep -q virt /proc/device-tree/compatible",
    ];
    // A plain ramdisk: the device's add_header gives it a U-Boot header after the overlay went in.
    const plain = await runJob(lab, ubootJob(steps, "u-boot, plain ramdisk"));
    const transcript = await Deno.readTextFile(board.transcript);
    assertEquals(
      plain.finished.health,
      "Complete",
      `${JSON.stringify(plain.byName)}\n${bootloaderPart(transcript, "=>")}`,
    );
    for (const name of ["lava/bootloader-commands", "lava/login-action", "0_arm64/arch", "0_arm64/dtb"]) {
      assertEquals(plain.byName[name], "pass", `${name}: ${JSON.stringify(plain.byName)}`);
    }
    assert(transcript.includes("U-Boot 20"), "Debian's U-Boot ran");
    assert(/booti 0x40400000 0x44000000 0x43400000/.test(transcript), "booti was given the kernel, ramdisk and DTB");

    // A ramdisk that comes with a U-Boot header: taken off for the overlay, put back for booti.
    const made = await new Deno.Command("mkimage", {
      args: [
        "-A",
        "arm64",
        "-O",
        "linux",
        "-T",
        "ramdisk",
        "-C",
        "gzip",
        "-d",
        dutFile("arm64/initramfs"),
        `${dir}/uRamdisk`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(made.success, `mkimage: ${new TextDecoder().decode(made.stderr)}`);
    const wrapped = await runJob(
      lab,
      ubootJob(steps, "u-boot, ramdisk with a header", {
        url: `file://${dir}/uRamdisk`,
        compression: "gz",
        header: "u-boot",
      }),
    );
    assertEquals(wrapped.finished.health, "Complete", JSON.stringify(wrapped.byName));
    assertEquals(wrapped.byName["0_arm64/arch"], "pass", JSON.stringify(wrapped.byName));

    // An NFS root: unpacked, the overlay put in, exported by nfs-ganesha for this job only, mounted by the
    // initramfs (NFSv4, at the port the job's context gives LAVA's extra_nfsroot_args).
    const nfs = await runJob(
      lab,
      ubootNfsJob(
        [
          ...steps,
          "lava-test-case nfs-root --shell grep -q ' / nfs4 ' /proc/mounts",
          "lava-test-case writes --shell sh -c 'echo from-the-dut > /nfs-marker'",
        ],
        "u-boot, NFS root",
        ganesha.port,
      ),
    );
    assertEquals(
      nfs.finished.health,
      "Complete",
      `${JSON.stringify(nfs.byName)}
${(await Deno.readTextFile(board.transcript)).slice(-4000)}`,
    );
    for (const name of ["0_arm64/arch", "0_arm64/nfs-root", "0_arm64/writes"]) {
      assertEquals(nfs.byName[name], "pass", `${name}: ${JSON.stringify(nfs.byName)}`);
    }
    assertEquals(await Deno.readTextFile(ganesha.exportsFile), "", "the job's export is gone");

    // An NBD root: the job's nbd-server serves the ext4 image, the initrd connects /dev/nbd0 to it and switches to
    // it, and the overlay comes over HTTP after login (transfer_overlay).
    const nbd = await runJob(
      lab,
      ubootNbdJob(
        [...steps, "lava-test-case nbd-root --shell grep -q '^/dev/nbd0 / ext4' /proc/mounts"],
        "u-boot, NBD root",
      ),
    );
    assertEquals(
      nbd.finished.health,
      "Complete",
      `${JSON.stringify(nbd.byName)}
${(await Deno.readTextFile(board.transcript)).slice(-4000)}`,
    );
    // The overlay reached the device only through transfer_overlay: the test shell ran from it.
    for (const name of ["0_arm64/arch", "0_arm64/nbd-root"]) {
      assertEquals(nbd.byName[name], "pass", `${name}: ${JSON.stringify(nbd.byName)}`);
    }
    const left = new TextDecoder().decode(
      (await new Deno.Command("pgrep", { args: ["-f", "nbd-server.*nbdroot.ext4"], stdout: "piped" }).output()).stdout,
    ).trim();
    assertEquals(left, "", "the job's nbd-server stopped with it");

    assertEquals([...Deno.readDirSync(tftpRoot)], [], "the job's files left the TFTP root");
    assertEquals(await board.power("state"), "off", "finalize powered the board off");
  } finally {
    await lab.close();
    await board.stop();
    await ganesha.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
