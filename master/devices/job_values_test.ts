import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { parse } from "yaml";
import { BUILTIN_TEMPLATES, renderDevice } from "./dictionary.ts";
import { jinjaEnvironment } from "./jinja.ts";
import { DeviceConfigurationError, LabDir } from "../lab/lab_dir.ts";
import { checkJobStrings, fenceJobStrings, jobStrings, JobValueError, withoutFences } from "./job_values.ts";

const env = jinjaEnvironment([BUILTIN_TEMPLATES]);
const QEMU = "{% extends 'qemu.jinja2' %}\n{% set memory = 256 %}\n";

function render(context: Record<string, unknown>, dictionary = QEMU) {
  return renderDevice(env, { dictionary, name: "qemu01.jinja2", hostname: "qemu01", deviceType: "qemu", context });
}

Deno.test("a job's ordinary values render exactly as without the check", () => {
  const rendered = render({ machine: "pc", cpu: "qemu64", extra_options: ["-smp", "2"], no_network: true });
  assert(!rendered.yaml.includes("\uE000"));
  const options =
    (rendered.config as { actions: { boot: { methods: { qemu: { parameters: { options: string[] } } } } } })
      .actions.boot.methods.qemu.parameters.options;
  assert(options.includes("-machine pc"));
  assert(options.includes("-cpu qemu64"));
});

Deno.test("a number or boolean printed from the job keeps its YAML type", () => {
  const rendered = render({ boot_retry: "3", failure_retry: "yes" });
  const constants = (rendered.config as { constants: Record<string, unknown> }).constants;
  assertEquals(constants.boot_retry, 3);
  assertEquals(constants.failure_retry, true);
});

Deno.test("a value that would add a key beside its own is refused, naming the key", () => {
  const error = assertThrows(() => render({ machine: "q35: 1" }), JobValueError);
  assert(error.message.includes("context.machine"), error.message);
});

Deno.test("a value that would become a mapping or list instead of text is refused", () => {
  assertThrows(() => render({ lava_test_results_dir: "{commands: {users: {x: {do: id}}}}" }), JobValueError);
  assertThrows(() => render({ lava_test_results_dir: "[a, b]" }), JobValueError);
  assertThrows(() => render({ lava_test_results_dir: "!!str x" }), JobValueError);
});

Deno.test("a value that ends its scalar early with a comment is refused", () => {
  assertThrows(() => render({ cpu: "max #" }), JobValueError);
});

Deno.test("a newline or other control character in a value is refused before rendering", () => {
  const error = assertThrows(
    () => render({ machine: "q35\ncommands:\n  users:\n    x:\n      do: touch /tmp/pwned" }),
    JobValueError,
  );
  assert(error.message.includes("context.machine") && error.message.includes("U+000A"), error.message);
  assertThrows(() => render({ extra_options: ["-smp", "2\u0000"] }), JobValueError, "context.extra_options[1]");
});

Deno.test("a quote that breaks the template's own quoting fails the job, and the device renders for others", () => {
  // base.jinja2 prints kernel_start_message inside single quotes.
  const dir = Deno.makeTempDirSync({ prefix: "basalt-labdir-" });
  try {
    const labDir = new LabDir(dir);
    const device = { hostname: "qemu01", deviceType: "qemu", dictionary: QEMU };
    const error = assertThrows(() => labDir.render(device, { kernel_start_message: "it's" }), JobValueError);
    assert(error.message.includes("qemu01.jinja2"), error.message);
    assert(labDir.render(device, { kernel_start_message: "it is" }).includes("it is"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a dictionary that fails on its own is the device's fault, whatever the job's context", () => {
  const dir = Deno.makeTempDirSync({ prefix: "basalt-labdir-" });
  try {
    const labDir = new LabDir(dir);
    const device = { hostname: "qemu01", deviceType: "qemu", dictionary: QEMU + "{% set x = %}\n" };
    assertThrows(() => labDir.render(device, { machine: "pc" }), DeviceConfigurationError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a value forging the fences themselves is refused", () => {
  assertThrows(() => jobStrings({ cpu: "\uE001: x\uE000" }), JobValueError);
});

Deno.test("fencing marks the longest job string at each place, and removing the fences restores the text", () => {
  const strings = jobStrings({ a: "ab", b: "abc" });
  const fenced = fenceJobStrings("xabcx ab", strings);
  assertEquals(fenced, "x\uE000abc\uE001x \uE000ab\uE001");
  assertEquals(withoutFences(fenced), "xabcx ab");
});

Deno.test("a job string that happens to occur inside the template's own keys is no structure change", () => {
  // "a" occurs in keys and values everywhere; each fence stays inside one scalar.
  const rendered = render({ machine: "a" });
  assertEquals(parse(rendered.yaml).hostname, "qemu01");
});

Deno.test("checkJobStrings names the context key of the value that broke the structure", () => {
  const strings = jobStrings({ cpu: "x: y" });
  const error = assertThrows(
    () => checkJobStrings("options:\n- -cpu \uE000x: y\uE001\n", strings, "d.yaml"),
    JobValueError,
  );
  assert(error.message.includes("context.cpu"), error.message);
});
