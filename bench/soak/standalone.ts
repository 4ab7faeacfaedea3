/**
 * One soak job dispatched alone on a soak device, several times, by Basalt's
 * dispatcher (as its worker starts it) and by LAVA's `lava-run` (Debian's
 * lava-dispatcher, connecting with telnet as a LAVA device dictionary does):
 * the CPU and wall each costs per job, read from the kernel's accounting of
 * the finished process and everything it started (a Python wrapper's
 * RUSAGE_CHILDREN).
 */
import { join } from "../../actors/path.ts";
import { stringify } from "yaml";
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import type { SoakDevices } from "./devices.ts";
import { SOAK_BOOT, soakTest } from "./jobs.ts";

const RUNS = 5;
const ROOT = new URL("../..", import.meta.url).pathname;

export interface StandaloneRun {
  readonly name: string;
  readonly runs: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly maxRssMiB: number;
  readonly notMeasured?: string;
}

const RUSAGE = `
import resource, subprocess, sys, time, json
t = time.time()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": r.returncode, "wall": time.time() - t, "cpu": u.ru_utime + u.ru_stime, "rss": u.ru_maxrss}))
`;

interface Usage {
  readonly code: number;
  readonly wall: number;
  readonly cpu: number;
  readonly rss: number;
}

async function measured(argv: string[]): Promise<Usage> {
  const output = await new Deno.Command("/usr/bin/python3", { args: ["-c", RUSAGE, ...argv], cwd: ROOT }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

function deviceYaml(labDir: string, hostname: string, connection: string): string {
  const env = jinjaEnvironment([join(labDir, "device-types"), join(ROOT, "master/devices/templates")]);
  const rendered = renderDevice(env, {
    dictionary: `{% extends 'soak.jinja2' %}\n{% set connection_command = '${connection}' %}\n`,
    name: hostname,
    hostname,
    deviceType: "soak",
  });
  if (rendered.errors.length > 0) throw new Error(`soak device: ${rendered.errors[0].message}`);
  return rendered.yaml;
}

function job(deploy: Record<string, unknown>): string {
  return stringify({
    device_type: "soak",
    job_name: "soak, alone",
    timeouts: { job: { minutes: 2 }, action: { minutes: 1 } },
    visibility: "public",
    actions: [
      { deploy },
      { boot: SOAK_BOOT },
      { test: soakTest(1) },
    ],
  });
}

async function series(name: string, argvOf: (run: number) => string[]): Promise<StandaloneRun> {
  const results: Usage[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const result = await measured(argvOf(i));
    if (result.code !== 0) {
      return { name, runs: 0, cpuSeconds: NaN, wallSeconds: NaN, maxRssMiB: NaN, notMeasured: `exit ${result.code}` };
    }
    if (i > 0) results.push(result); // the first warms the caches
  }
  const mean = (f: (r: Usage) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
  return {
    name,
    runs: results.length,
    cpuSeconds: mean((r) => r.cpu),
    wallSeconds: mean((r) => r.wall),
    maxRssMiB: Math.max(...results.map((r) => r.rss)) / 1024,
  };
}

export async function standaloneRuns(
  devices: SoakDevices,
  labDir: string,
  ramdisk: string,
  fileDir: string,
  dispatchMain: string,
  dir: string,
): Promise<StandaloneRun[]> {
  const port = devices.ports[0];
  const work = join(dir, "standalone");
  await Deno.mkdir(work, { recursive: true });
  await Deno.writeTextFile(
    join(work, "basalt-device.yaml"),
    deviceYaml(labDir, "soak-alone", `tcp://127.0.0.1:${port}`),
  );
  await Deno.writeTextFile(
    join(work, "basalt-job.yaml"),
    job({ to: "tmpfs", images: { ramdisk: { url: `file://${ramdisk}` } } }),
  );
  const out: StandaloneRun[] = [];
  out.push(
    await series("Basalt's dispatcher", (i) => [
      Deno.execPath(),
      "run",
      "-A",
      dispatchMain,
      "--job-id",
      String(900_000 + i),
      "--output-dir",
      join(work, `basalt-${i}`),
      "--device",
      join(work, "basalt-device.yaml"),
      "--file-dirs",
      fileDir,
      join(work, "basalt-job.yaml"),
    ]),
  );
  let lavaProblem: string | undefined;
  try {
    Deno.statSync("/usr/bin/lava-run");
  } catch {
    lavaProblem = "Debian's lava-dispatcher is not installed";
  }
  if (!lavaProblem && Deno.uid() !== 0) lavaProblem = "lava-run runs only as root";
  if (lavaProblem) {
    out.push({
      name: "LAVA's lava-run",
      runs: 0,
      cpuSeconds: NaN,
      wallSeconds: NaN,
      maxRssMiB: NaN,
      notMeasured: lavaProblem,
    });
    return out;
  }
  await Deno.writeTextFile(
    join(work, "lava-device.yaml"),
    deviceYaml(labDir, "soak-alone", `telnet 127.0.0.1 ${port}`),
  );
  await Deno.writeTextFile(join(work, "lava-job.yaml"), job({ to: "overlay" }));
  out.push(
    await series("LAVA's lava-run", (i) => [
      "lava-run",
      "--job-id",
      String(900_100 + i),
      "--output-dir",
      join(work, `lava-${i}`),
      "--device",
      join(work, "lava-device.yaml"),
      join(work, "lava-job.yaml"),
    ]),
  );
  return out;
}
