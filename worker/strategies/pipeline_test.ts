import { parse } from "yaml";
import { assertEquals } from "../../tests/support/assert.ts";
import { exampleFiles, LAVA_EXAMPLES } from "../../tests/support/lava_examples.ts";
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import { buildPipeline as build, type PipelineAction } from "../../actors/definitions/pipeline.ts";
import { STRATEGIES } from "./mod.ts";
import { loadYaml } from "../../actors/definitions/yaml.ts";

const buildPipeline = (job: unknown, device: unknown) => build(job, device, STRATEGIES);

const LAVA = jinjaEnvironment([`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`]);

function device(name: string, context: Record<string, unknown>): unknown {
  const dictionary = Deno.readTextFileSync(`${LAVA_EXAMPLES}device-dicts/${name}.jinja2`);
  return renderDevice(LAVA, { dictionary, name, hostname: name, deviceType: "qemu", context }).config;
}

function job(name: string): Record<string, unknown> {
  return loadYaml(exampleFiles("jobs").find(([file]) => file === name)![2]).value as Record<string, unknown>;
}

type Row = [string, string, number, number];

function rows(actions: readonly PipelineAction[]): Row[] {
  return actions.flatMap((a) => [[a.name, a.level, a.maxRetries, a.timeout] as Row, ...rows(a.pipeline)]);
}

interface RefAction {
  name: string;
  level: string;
  max_retries: number;
  timeout: number;
  pipeline?: RefAction[];
}

function refRows(actions: RefAction[]): Row[] {
  return actions.flatMap((
    a,
  ) => [[a.name, String(a.level), a.max_retries, a.timeout] as Row, ...refRows(a.pipeline ?? [])]);
}

Deno.test("kvm.yaml on a qemu device gives LAVA's own pipeline: names, levels, retries and timeouts", () => {
  const reference = parse(Deno.readTextFileSync(`${LAVA_EXAMPLES}misc/pipeline-ref-kvm.yaml`)) as RefAction[];
  const kvm = job("kvm.yaml");
  const pipeline = buildPipeline(kvm, device("qemu01", kvm.context as Record<string, unknown>));
  assertEquals(rows(pipeline.actions), refRows(reference));
  assertEquals(pipeline.jobTimeout, 600);
  const downloads = pipeline.actions[0].pipeline.filter((a) => a.name === "download-retry").map((a) =>
    a.pipeline[0].url
  );
  assertEquals(downloads, [
    "http://images.validation.linaro.org/kvm-debian-wheezy.img.gz",
    "http://images.validation.linaro.org/kvm-debian-wheezy.img.gz",
  ]);
});

Deno.test("named timeouts from the job and the action block win over the device's and the block's", () => {
  const kvm = job("kvm.yaml");
  const tuned = {
    ...kvm,
    timeouts: {
      ...(kvm.timeouts as object),
      actions: { "http-download": { seconds: 45 } },
      connections: { "lava-test-shell": { seconds: 7 } },
    },
    actions: (kvm.actions as Record<string, Record<string, unknown>>[]).map((action) =>
      action.boot ? { boot: { ...action.boot, timeouts: { "execute-qemu": { seconds: 11 } } } } : action
    ),
  };
  const flat = (actions: readonly PipelineAction[]): PipelineAction[] =>
    actions.flatMap((a) => [a, ...flat(a.pipeline)]);
  const all = flat(buildPipeline(tuned, device("qemu01", { arch: "amd64" })).actions);
  const find = (name: string) => all.find((a) => a.name === name)!;
  assertEquals(find("http-download").timeout, 45);
  assertEquals(find("execute-qemu").timeout, 11);
  assertEquals(find("lava-test-shell").connectionTimeout, 7);
  // Device default for the connection of auto-login-action: 2 minutes.
  assertEquals(find("auto-login-action").connectionTimeout, 120);
});

Deno.test("a U-Boot job on bbb-01 gets the tftp deploy and bootloader actions with the device's timeouts", () => {
  const uboot = job("uboot-ramdisk-tftp.yaml");
  const config = renderDevice(LAVA, {
    dictionary: Deno.readTextFileSync(`${LAVA_EXAMPLES}device-dicts/bbb-01.jinja2`),
    name: "bbb-01",
    hostname: "bbb-01",
    deviceType: "beaglebone-black",
  }).config;
  const pipeline = buildPipeline(uboot, config);
  assertEquals(pipeline.actions.map((a) => [a.name, a.section, a.supported]), [
    ["tftp-deploy", "deploy", true],
    ["uboot-action", "boot", true],
    ["lava-test-retry", "test", true],
    ["finalize", "finalize", true],
  ]);
  const boot = pipeline.actions[1];
  const commands = boot.pipeline.find((a) => a.name === "uboot-commands")!;
  assertEquals(commands.pipeline.map((a) => a.name), ["reset-device", "bootloader-interrupt", "bootloader-commands"]);
  assertEquals(pipeline.actions[0].pipeline.filter((a) => a.name === "download-retry").map((a) => a.item), [
    "kernel",
    "ramdisk",
    "dtb",
  ]);
});

Deno.test("methods Basalt's dispatcher does not run are in the pipeline, marked unsupported", () => {
  const docker = job("docker-simple.yaml");
  const pipeline = buildPipeline(docker, { timeouts: { actions: {}, connections: {} }, constants: {} });
  assertEquals(pipeline.actions.map((a) => [a.name, a.supported]), [
    ["deploy-docker", false],
    ["boot-docker", false],
    ["lava-test-retry", true],
    ["finalize", true],
  ]);
});
