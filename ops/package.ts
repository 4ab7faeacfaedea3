/**
 * `deno task package [--out build/packages]`: Debian packages, shaped like
 * LAVA's (`lava-server`, `lava-dispatcher`, `lava-coordinator`):
 *
 *   basalt-runtime      the Deno runtime the others run on (/usr/lib/basalt/deno)
 *   basalt-master       master (web UI, APIs, scheduler), manage and cli
 *   basalt-worker       worker and dispatcher; needs QEMU, ser2net, socat
 *   basalt-coordinator  the MultiNode coordinator
 *
 * Each program is one `deno bundle` file (`deno compile` cannot fetch its runtime
 * here), with the few files it reads beside it (PGlite's database image, device
 * templates, the web UI's static files), a launcher in /usr/bin, a systemd unit
 * and a default configuration in /etc/basalt.
 */
import { parseArgs } from "../actors/cli/parse_args.ts";
import { join } from "../actors/path.ts";
import { BASALT_VERSION } from "../actors/version.ts";
import { buildIslands } from "../web/assets.ts";
import { bundle } from "./bundle.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SHARE = "/usr/share/basalt";

interface Package {
  readonly name: string;
  readonly depends: string[];
  readonly description: string;
  /** Program name → its entry module. */
  readonly programs: Record<string, string>;
  readonly files: (stage: string) => Promise<void>;
  readonly units: Record<string, string>;
  readonly config: Record<string, string>;
  readonly conffiles?: string[];
  readonly postinst?: string;
}

async function run(command: string, args: string[], cwd = ROOT): Promise<void> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

async function write(path: string, text: string, mode = 0o644): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
}

const launcher = (pkg: string, program: string, env = "") =>
  `#!/bin/sh
# ${program}: Basalt's ${program.replace("basalt-", "")}, from the ${pkg} package.
${env}exec /usr/lib/basalt/deno run --allow-all --no-config --no-lock ${SHARE}/${pkg}/${program}.js "$@"
`;

const unit = (description: string, exec: string, after = "network-online.target") =>
  `[Unit]
Description=${description}
After=${after}
Wants=network-online.target

[Service]
User=basalt
Group=basalt
EnvironmentFile=-/etc/basalt/%N.env
ExecStart=${exec}
Restart=always
RestartSec=2
# Stopping a worker leaves its jobs running: the next worker takes them over.
KillMode=process

[Install]
WantedBy=multi-user.target
`;

const POSTINST_USER = `#!/bin/sh
set -e
if ! getent passwd basalt >/dev/null; then
  adduser --system --group --home /var/lib/basalt --no-create-home basalt >/dev/null
fi
mkdir -p /var/lib/basalt && chown basalt:basalt /var/lib/basalt
`;

const PACKAGES: Package[] = [
  {
    name: "basalt-master",
    depends: ["basalt-runtime", "libzmq5"],
    description: "Basalt master: scheduler, web UI, XML-RPC (lavacli) and JSON APIs, events",
    programs: {
      "basalt-master": "master/main.ts",
      "basalt-manage": "master/manage/main.ts",
      "basalt-cli": "master/cli/main.ts",
    },
    files: async (stage) => {
      const dir = join(stage, SHARE, "basalt-master");
      const pglite = join(ROOT, "node_modules", "@electric-sql", "pglite", "dist");
      for (const name of ["pglite.data", "pglite.wasm", "initdb.wasm"]) {
        try {
          await Deno.copyFile(join(pglite, name), join(dir, name));
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      await copyDir(join(ROOT, "master", "devices", "templates"), join(dir, "templates"));
      await buildIslands();
      await copyDir(join(ROOT, "web", "static"), join(dir, "static"));
      await Deno.copyFile(join(ROOT, "master", "http", "openapi.yaml"), join(dir, "openapi.yaml"));
    },
    units: {
      "basalt-master": unit(
        "Basalt master",
        "/usr/bin/basalt-master --data-dir /var/lib/basalt/master --lab-dir /etc/basalt/lab $BASALT_MASTER_ARGS",
      ),
    },
    config: {
      "basalt-master.env":
        `# Extra arguments, e.g. --db postgres://... --http 0.0.0.0:8000 --encrypt --master-cert ... --workers-certs ...
BASALT_MASTER_ARGS=
`,
      "lab/README":
        "devices/<hostname>.jinja2, device-types/<type>.jinja2 and health-checks/<type>.yaml, as in LAVA.\n",
    },
    conffiles: ["/etc/basalt/basalt-master.env"],
    postinst: POSTINST_USER +
      "mkdir -p /etc/basalt/lab/devices /etc/basalt/lab/device-types /etc/basalt/lab/health-checks\n",
  },
  {
    name: "basalt-worker",
    depends: ["basalt-runtime", "libzmq5", "qemu-system-x86", "ser2net", "socat", "telnet", "udev"],
    description: "Basalt worker and dispatcher: runs jobs on devices (QEMU, serial boards)",
    programs: { "basalt-worker": "worker/main.ts", "basalt-dispatch": "worker/dispatch/main.ts" },
    files: async (stage) => {
      // The journal's checkpointer runs as a web worker from a file beside the bundle.
      await bundle(
        "actors/runtime/sqlite_checkpointer.ts",
        join(stage, SHARE, "basalt-worker", "sqlite_checkpointer.ts"),
      );
    },
    units: {
      "basalt-worker": unit(
        "Basalt worker",
        "/usr/bin/basalt-worker --state-dir /var/lib/basalt/worker $BASALT_WORKER_ARGS",
      ),
    },
    config: {
      "basalt-worker.env": `# At least --name and --master, e.g.
# BASALT_WORKER_ARGS=--name worker-1 --master tcp://master.example:5556 --encrypt --master-cert /etc/basalt/certificates.d/master.key --worker-cert /etc/basalt/certificates.d/worker-1.key_secret
BASALT_WORKER_ARGS=--name localhost --master tcp://127.0.0.1:5556
`,
    },
    conffiles: ["/etc/basalt/basalt-worker.env"],
    postinst: POSTINST_USER + "adduser basalt dialout >/dev/null 2>&1 || true\n",
  },
  {
    name: "basalt-coordinator",
    depends: ["basalt-runtime"],
    description: "Basalt MultiNode coordinator, wire-compatible with lava-coordinator",
    programs: { "basalt-coordinator": "coordinator/main.ts" },
    files: async () => {},
    units: {
      "basalt-coordinator": unit(
        "Basalt MultiNode coordinator",
        "/usr/bin/basalt-coordinator --config /etc/basalt/lava-coordinator.conf --state-dir /var/lib/basalt/coordinator $BASALT_COORDINATOR_ARGS",
      ),
    },
    config: {
      "lava-coordinator.conf": JSON.stringify(
        { port: 3079, blocksize: 4096, poll_delay: 1, coordinator_hostname: "localhost" },
        null,
        2,
      ) + "\n",
      "basalt-coordinator.env": "# e.g. --bind 0.0.0.0 for workers on other machines\nBASALT_COORDINATOR_ARGS=\n",
    },
    conffiles: ["/etc/basalt/lava-coordinator.conf", "/etc/basalt/basalt-coordinator.env"],
    postinst: POSTINST_USER,
  },
];

async function control(stage: string, fields: Record<string, string>, pkg?: Package): Promise<void> {
  const text = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
  await write(join(stage, "DEBIAN", "control"), text);
  if (pkg?.conffiles?.length) await write(join(stage, "DEBIAN", "conffiles"), pkg.conffiles.join("\n") + "\n");
  if (pkg?.postinst) await write(join(stage, "DEBIAN", "postinst"), pkg.postinst, 0o755);
}

export async function buildPackages(out: string): Promise<string[]> {
  const work = await Deno.makeTempDir({ prefix: "basalt-package-" });
  await Deno.mkdir(out, { recursive: true });
  const built: string[] = [];
  const arch = "amd64";
  try {
    // The runtime: this Deno, so every package runs on the version it was built and tested with.
    const runtime = join(work, "basalt-runtime");
    await Deno.mkdir(join(runtime, "usr/lib/basalt"), { recursive: true });
    await Deno.copyFile(Deno.execPath(), join(runtime, "usr/lib/basalt/deno"));
    await Deno.chmod(join(runtime, "usr/lib/basalt/deno"), 0o755);
    await control(runtime, {
      Package: "basalt-runtime",
      Version: BASALT_VERSION,
      Architecture: arch,
      Maintainer: "Basalt <basalt@localhost>",
      Description: `The Deno runtime Basalt runs on (Deno ${Deno.version.deno})`,
    });
    for (const pkg of PACKAGES) {
      const stage = join(work, pkg.name);
      const share = join(stage, SHARE, pkg.name);
      await Deno.mkdir(share, { recursive: true });
      for (const [program, entry] of Object.entries(pkg.programs)) {
        await bundle(entry, join(share, `${program}.js`));
        const env = program === "basalt-worker"
          ? `export BASALT_DISPATCH_MAIN=${SHARE}/${pkg.name}/basalt-dispatch.js\n`
          : "";
        await write(join(stage, "usr/bin", program), launcher(pkg.name, program, env), 0o755);
      }
      await pkg.files(stage);
      for (const [name, text] of Object.entries(pkg.units)) {
        await write(join(stage, "lib/systemd/system", `${name}.service`), text);
      }
      for (const [name, text] of Object.entries(pkg.config)) await write(join(stage, "etc/basalt", name), text);
      await control(stage, {
        Package: pkg.name,
        Version: BASALT_VERSION,
        Architecture: arch,
        Maintainer: "Basalt <basalt@localhost>",
        Depends: pkg.depends.join(", "),
        Description: pkg.description,
      }, pkg);
    }
    for (const name of ["basalt-runtime", ...PACKAGES.map((p) => p.name)]) {
      const file = join(out, `${name}_${BASALT_VERSION}_${arch}.deb`);
      await run("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", join(work, name), file]);
      built.push(file);
    }
    return built;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string", default: "build/packages" } } });
  for (const file of await buildPackages(values.out)) console.log(file);
}
