/**
 * The one set-up step behind `deno task demo`, `deno task test` and `.ci/run`
 * (`deno task setup [demo|test]` runs it alone): it finds what this machine lacks
 * for the purpose — Debian packages, the QEMU device image, LAVA's reference
 * packages unpacked — says in one short list what it will install and why,
 * installs it as root or through password-less sudo, and otherwise prints the
 * one command to run and stops. When nothing is missing it says nothing.
 *
 * `BASALT_NO_INSTALL=1` is for people who manage packages themselves: the list is
 * printed, nothing is installed, and the command carries on.
 *
 * Only Debian's packages are fetched (with the machine's own apt sources) and the
 * npm packages `deno.lock` pins.
 */
import { join } from "../actors/path.ts";

export type Purpose = "demo" | "test";

/** Debian packages Basalt runs for real, grouped by what they are for. */
export const PACKAGE_GROUPS: readonly PackageGroup[] = [
  { packages: ["libzmq5"], why: "the mailboxes between master and workers", purposes: ["demo", "test"] },
  {
    packages: ["qemu-system-x86", "qemu-system-arm", "ipxe-qemu"],
    why: "the QEMU devices (x86_64, and arm64 for the U-Boot board)",
    purposes: ["demo", "test"],
  },
  { packages: ["socat", "ser2net", "telnet"], why: "the simulated board's serial line", purposes: ["demo", "test"] },
  { packages: ["u-boot-tools"], why: "U-Boot headers on ramdisks (mkimage)", purposes: ["demo", "test"] },
  { packages: ["busybox-static", "cpio", "xz-utils"], why: "the QEMU device image", purposes: ["demo", "test"] },
  { packages: ["procps"], why: "finding and stopping the lab's processes", purposes: ["demo", "test"] },
  {
    packages: ["grub-pc-bin", "grub-efi-amd64-bin", "grub-common"],
    why: "the GRUB boards (a BIOS's PXE, and UEFI's behind a numbered menu)",
    purposes: ["test"],
  },
  {
    packages: ["ovmf", "dosfstools"],
    why: "the UEFI PC (OVMF, and the FAT disk its shell fetches onto)",
    purposes: ["test"],
  },
  {
    packages: ["u-boot-qemu"],
    why: "the U-Boot board (Debian's U-Boot for QEMU's arm64 virt machine)",
    purposes: ["demo", "test"],
  },
  { packages: ["git", "curl"], why: "test definitions from git, tests that download", purposes: ["test"] },
  { packages: ["bzip2", "zstd", "e2fsprogs"], why: "compressed images, overlay disks", purposes: ["test"] },
  { packages: ["debootstrap"], why: "the Debian root filesystem the test definitions run on", purposes: ["test"] },
  {
    packages: ["nfs-ganesha", "nfs-ganesha-vfs"],
    why: "NFS roots (a userspace NFS server: these machines' kernels have none)",
    purposes: ["test"],
  },
  { packages: ["nbd-server"], why: "NBD roots (LAVA's nbd deploy serves its nbdroot with it)", purposes: ["test"] },
  { packages: ["dnsmasq-base"], why: "a TFTP server the fault tests can take away mid-transfer", purposes: ["test"] },
  {
    packages: ["openssh-server", "openssh-client"],
    why: "the machine the ssh device type's tests log into (a real sshd), and ssh and scp",
    purposes: ["test"],
  },
  {
    packages: ["fastboot", "mkbootimg", "android-sdk-libsparse-utils"],
    why: "fastboot devices: Debian's fastboot client, Android boot images and sparse images",
    purposes: ["test"],
  },
  { packages: ["postgresql"], why: "the storage tests on PostgreSQL", purposes: ["test"] },
  {
    packages: ["python3", "python3-jinja2", "python3-yaml", "python3-zmq", "python3-requests"],
    why: "Jinja2, pyzmq and requests (how LAVA sends callbacks), the references the tests compare with",
    purposes: ["test"],
  },
  { packages: ["lavacli"], why: "LAVA's own client, run against the master", purposes: ["test"] },
  {
    packages: ["lava-dispatcher"],
    why: "LAVA's own worker and lava-run, joined to the master over LAVA's HTTP worker API",
    purposes: ["test"],
  },
  { packages: ["chromium"], why: "the browser tests", purposes: ["test"] },
];

export interface PackageGroup {
  readonly packages: readonly string[];
  readonly why: string;
  readonly purposes: readonly Purpose[];
}

/** Where the built and unpacked files live: the environment's choice, else the shared cache the tests read. */
export interface SetupPaths {
  /** The QEMU device image (`BASALT_DUT_DIR`). */
  readonly dutDir: string;
  /** LAVA 2023.01's packages unpacked (`BASALT_LAVA_REFERENCE`). */
  readonly lavaReference: string;
  /** LAVA's example files (`BASALT_LAVA_EXAMPLES`, or `../shared/lava-examples` beside the clone). */
  readonly lavaExamples: string;
  /** The Debian root filesystem for the tests (`BASALT_DEBIAN_DIR`). */
  readonly debianDir: string;
  /** Linaro's test definitions (`BASALT_TEST_DEFINITIONS`, or `../shared/test-definitions` beside the clone). */
  readonly testDefinitions: string;
}

export function setupPaths(env: (name: string) => string | undefined, root: string): SetupPaths {
  return {
    dutDir: env("BASALT_DUT_DIR") ?? "/var/cache/basalt-dut",
    lavaReference: env("BASALT_LAVA_REFERENCE") ?? "/var/cache/basalt-lava",
    lavaExamples: env("BASALT_LAVA_EXAMPLES") ?? join(root, "..", "shared", "lava-examples"),
    debianDir: env("BASALT_DEBIAN_DIR") ?? "/var/cache/basalt-debian",
    testDefinitions: env("BASALT_TEST_DEFINITIONS") ?? join(root, "..", "shared", "test-definitions"),
  };
}

/** What the machine has, as probed: a pure plan is made from it. */
export interface MachineState {
  /** Packages dpkg reports installed. */
  readonly installed: ReadonlySet<string>;
  readonly dutImageBuilt: boolean;
  readonly debianRootfsBuilt: boolean;
  readonly lavaReferenceUnpacked: boolean;
  readonly lavaExamplesPresent: boolean;
}

export type Step =
  | { readonly kind: "packages"; readonly packages: readonly string[] }
  | { readonly kind: "device-image"; readonly dir: string }
  | { readonly kind: "debian-rootfs"; readonly dir: string }
  | { readonly kind: "lava-reference"; readonly dir: string };

export interface SetupPlan {
  /** Privileged steps, in the order they must run (the image is built with the packages in place). */
  readonly steps: readonly Step[];
  /** One line per missing thing, saying why it is needed. */
  readonly lines: readonly string[];
  /** What cannot be installed from here, with what follows from it. */
  readonly notes: readonly string[];
}

/**
 * The plan for a purpose on a machine: nothing when all is there.
 *
 * @example
 * const plan = planSetup("demo", { installed: new Set(), dutImageBuilt: true, debianRootfsBuilt: true,
 *   lavaReferenceUnpacked: true, lavaExamplesPresent: true }, setupPaths(() => undefined, "/src/basalt"));
 * // plan.steps[0] = { kind: "packages", packages: ["libzmq5", "qemu-system-x86", ...] }
 */
export function planSetup(purpose: Purpose, machine: MachineState, paths: SetupPaths): SetupPlan {
  const steps: Step[] = [];
  const lines: string[] = [];
  const notes: string[] = [];
  const missing: string[] = [];
  for (const group of PACKAGE_GROUPS) {
    if (!group.purposes.includes(purpose)) continue;
    const lacking = group.packages.filter((p) => !machine.installed.has(p));
    if (lacking.length === 0) continue;
    missing.push(...lacking);
    lines.push(`${lacking.join(" ")}: ${group.why}`);
  }
  if (missing.length > 0) steps.push({ kind: "packages", packages: missing });
  if (!machine.dutImageBuilt) {
    steps.push({ kind: "device-image", dir: paths.dutDir });
    lines.push(`the QEMU device image in ${paths.dutDir}: a Debian kernel and a busybox initramfs (about a minute)`);
  }
  if (purpose === "test") {
    if (!machine.debianRootfsBuilt) {
      steps.push({ kind: "debian-rootfs", dir: paths.debianDir });
      lines.push(`a Debian root filesystem in ${paths.debianDir}, built with debootstrap (a minute or two)`);
    }
    if (!machine.lavaReferenceUnpacked) {
      steps.push({ kind: "lava-reference", dir: paths.lavaReference });
      lines.push(`LAVA 2023.01's Debian packages unpacked in ${paths.lavaReference}: what templates are compared with`);
    }
    if (!machine.lavaExamplesPresent) {
      notes.push(
        `LAVA's example files are not in ${paths.lavaExamples} (BASALT_LAVA_EXAMPLES names another place): ` +
          "the tests that read them are skipped",
      );
    }
  }
  return { steps, lines, notes };
}

/** How privileged steps can run here. */
export type Privilege = "root" | "sudo" | "none";

/** The argv that runs a privileged command, or undefined when it cannot run. */
export function privileged(privilege: Privilege, argv: readonly string[]): string[] | undefined {
  if (privilege === "root") return [...argv];
  if (privilege === "sudo") return ["sudo", "-n", "--", ...argv];
  return undefined;
}

/** The commands a step runs, as argvs (the environment is set with env(1), which sudo keeps). */
export function commandsFor(step: Step, root: string): string[][] {
  const apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
  switch (step.kind) {
    case "packages":
      return [
        [...apt, "update", "-qq"],
        [...apt, "install", "-y", "-qq", "--no-install-recommends", ...step.packages],
        // The package enables its worker service, pointed at http://localhost/: the tests start their own.
        ...(step.packages.includes("lava-dispatcher")
          ? [["sh", "-c", "if [ -d /run/systemd/system ]; then systemctl disable --now lava-worker.service; fi"]]
          : []),
      ];
    case "device-image":
      return [["bash", join(root, "tools", "build-dut-image.sh"), step.dir]];
    case "debian-rootfs":
      return [["bash", join(root, "tools", "build-debian-rootfs.sh"), step.dir]];
    case "lava-reference":
      return [["bash", join(root, "tools", "fetch-lava-reference.sh"), step.dir]];
  }
}

const STEP_TITLES: Record<Step["kind"], string> = {
  "packages": "installing Debian packages",
  "device-image": "building the QEMU device image",
  "debian-rootfs": "building the Debian root filesystem",
  "lava-reference": "unpacking LAVA's reference packages",
};

// ---------------------------------------------------------------------------------------------------------------
// The machine, probed and changed.

const ROOT = new URL("..", import.meta.url).pathname;
/** What tools/build-debian-rootfs.sh writes (`packages` came with wget in it: a tree without it is rebuilt). */
const DEBIAN_FILES = ["rootfs.ext4", "rootfs.tar.gz", "vmlinuz", "initrd.img", "packages"];
/** What tools/build-dut-image.sh writes, and the tests and demo read. */
export const DUT_FILES = [
  "vmlinux",
  "vmlinuz",
  "initramfs",
  "initramfs-login",
  "initramfs-nfs",
  "initramfs-nbd",
  "arm64/Image",
  "arm64/initramfs",
  "arm64/virt.dtb",
  "arm64/initramfs-nfs",
  "arm64/nfsrootfs.tar.gz",
  "arm64/initramfs-nbd",
  "arm64/nbdroot.ext4",
  "arm64/initramfs-disk",
  "arm64/boot.img",
  "arm64/nbdroot.simg",
] as const;
export type DutFile = typeof DUT_FILES[number];

/** This machine's places for the image, the reference and the examples: what the demo and the tests read. */
export const PATHS: SetupPaths = setupPaths((name) => Deno.env.get(name), ROOT);

function nonEmpty(path: string): boolean {
  try {
    return Deno.statSync(path).size > 0;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Packages dpkg knows as installed, of those asked about. */
export async function installedPackages(packages: readonly string[]): Promise<Set<string>> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("dpkg-query", {
      args: ["-W", "-f", "${Package}\t${db:Status-Abbrev}\n", ...packages],
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch {
    return new Set(); // no dpkg: nothing counts as installed, and installing says why it cannot
  }
  const installed = new Set<string>();
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const [name, status] = line.split("\t");
    // "ii " is installed; "rc " (removed, configuration left) and "un " are not.
    if (name && status?.startsWith("ii")) installed.add(name.split(":")[0]);
  }
  return installed;
}

export async function probeMachine(paths: SetupPaths): Promise<MachineState> {
  return {
    installed: await installedPackages(PACKAGE_GROUPS.flatMap((g) => g.packages)),
    dutImageBuilt: DUT_FILES.every((f) => nonEmpty(join(paths.dutDir, f))),
    debianRootfsBuilt: DEBIAN_FILES.every((f) => nonEmpty(join(paths.debianDir, f))),
    lavaReferenceUnpacked: nonEmpty(join(paths.lavaReference, ".complete")),
    lavaExamplesPresent: isDirectory(join(paths.lavaExamples, "jobs")),
  };
}

async function privilegeHere(): Promise<Privilege> {
  if (Deno.uid() === 0) return "root";
  try {
    const sudo = await new Deno.Command("sudo", { args: ["-n", "true"], stdout: "null", stderr: "null" }).output();
    return sudo.success ? "sudo" : "none";
  } catch {
    return "none";
  }
}

/** Runs a command with its output kept, shown only when it fails. */
async function run(argv: string[]): Promise<void> {
  const output = await new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    const tail = text.trimEnd().split("\n").slice(-20).join("\n");
    throw new SetupError(`${argv.join(" ")} failed (exit ${output.code}):\n${tail}`);
  }
}

export class SetupError extends Error {
  override name = "SetupError";
}

function say(text: string): void {
  console.error(`setup: ${text}`);
}

/** The npm packages deno.lock pins, in node_modules: quick when they are there, and refused if the lock is stale. */
async function npmDependencies(): Promise<void> {
  await run([Deno.execPath(), "install", "--frozen", "--quiet"]).catch((error) => {
    throw new SetupError(`npm dependencies: ${(error as Error).message}`);
  });
}

/**
 * Makes this machine ready for a purpose; throws SetupError, saying what to do, when it cannot.
 * Silent when nothing is missing. Returns the steps left undone: none, unless BASALT_NO_INSTALL is set.
 */
export async function setUp(purpose: Purpose): Promise<readonly Step[]> {
  const plan = planSetup(purpose, await probeMachine(PATHS), PATHS);
  for (const note of plan.notes) say(note);
  if (plan.steps.length > 0) {
    say(`this machine needs, for ${purpose === "demo" ? "the demo lab" : "the tests"}:`);
    for (const line of plan.lines) console.error(`  ${line}`);
  }
  const installing = plan.steps.length > 0 && !Deno.env.get("BASALT_NO_INSTALL");
  if (plan.steps.length > 0 && !installing) {
    say("BASALT_NO_INSTALL is set: installing nothing; what needs the above will fail");
  }
  if (installing) await install(purpose, plan.steps);
  await npmDependencies();
  return installing ? [] : plan.steps;
}

/** Runs the steps as root or through sudo, a progress line for each; throws, saying what to run, when neither works. */
async function install(purpose: Purpose, steps: readonly Step[]): Promise<void> {
  const privilege = await privilegeHere();
  if (privilege === "none") {
    throw new SetupError(
      "installing needs root, and sudo asks for a password here. Run this once, then the command again:\n" +
        `  sudo ${Deno.execPath()} run --allow-all ${join(ROOT, "ops", "setup.ts")} ${purpose}\n` +
        "(or set BASALT_NO_INSTALL=1 to install nothing)",
    );
  }
  for (const step of steps) {
    const started = Date.now();
    const what = step.kind === "packages"
      ? `${STEP_TITLES[step.kind]} (${step.packages.length})`
      : `${STEP_TITLES[step.kind]} in ${step.dir}`;
    say(`${what} ...`);
    for (const argv of commandsFor(step, ROOT)) await run(privileged(privilege, argv)!);
    say(`${what}: done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

if (import.meta.main) {
  const purpose = Deno.args[0] ?? "test";
  if (purpose !== "demo" && purpose !== "test") {
    console.error("usage: deno task setup [demo|test]");
    Deno.exit(2);
  }
  try {
    await setUp(purpose);
  } catch (error) {
    say(error instanceof SetupError ? error.message : String(error));
    Deno.exit(1);
  }
}
