/**
 * Where nunjucks differs from Jinja2 on what LAVA's templates use, proven fixed:
 * each case renders here and in Python's Jinja2, and the outputs must be equal.
 */
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { Jinja2Reference } from "../../tests/support/jinja2_reference.ts";
import { exampleFiles, LAVA_EXAMPLES } from "../../tests/support/lava_examples.ts";
import { jinjaEnvironment, pythonRepr, qemuGuestFsInterface, shlexQuote } from "./jinja.ts";

const LAVA_PATHS = [`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`];

/** Each snippet exercises one difference; the comment names it. */
const SNIPPETS: Record<string, string> = {
  "Python printing of lists, dicts, booleans and None":
    "{{ [1, 'a', \"it's\"] }} {{ {'k': [True, None]} }} {{ x | default(True) }} {{ none_value }} {{ 1.5 }}",
  "list concatenation with +":
    "{% set l = base|default([]) + ['setenv autoload no'] %}{{ l }} {{ (l + ['x'])|join(',') }}",
  "Python truth of empty lists and dicts": "{% if []|default([]) %}A{% else %}B{% endif %}{% if {} %}C{% endif %}" +
    "{% if not [] %}D{% endif %}{{ [] or 'E' }}{{ [1] and 'F' }}{{ 'G' if {} else 'H' }}",
  "nested dict literal closing a set tag": "{% set c = {'a': {'do': 'x'},\n 'b': {'do': 'y'}} %}{{ c.b.do }}",
  "self.block() renders another block": "{% block one %}1{% endblock %}-{{ self.one() }}",
  "test argument without parentheses":
    "{% if v is sameas true %}yes{% endif %}{% if w is not sameas false %}no{% endif %}",
  "newline after a comment is dropped": "a\n{# note #}\nb\n{% if 1 %}\nc\n{% endif %}\n",
  "undefined is iterable and not a string":
    "{% if u is iterable and u is not string %}{% for x in u %}{{x}}{% endfor %}it{% endif %}",
  "integral float literals stay floats": "{{ cpus|default(0.0) }} {{ 2.0 }} {{ 2.5 }}",
  "string filter is Python's str": "{{ 115200|string + 'n8' }} {{ [1]|string }}",
  "dict methods":
    "{% for k, v in {'a': 1}.items() %}{{k}}={{v}}{% endfor %} {{ {'a': 1}.get('a') }} {{ 'a' in {'a': 1} }}",
  "LAVA's extra filters": "{{ \"it's a test\"|shlex_quote }} {{ 'amd64'|qemu_guest_fs_interface }} " +
    "{{ 'arm64'|qemu_guest_fs_interface }} {{ 'arm64'|qemu_guest_fs_interface('scsi') }}",
};

const CONTEXTS: Record<string, unknown>[] = [
  {},
  { v: true, w: true, base: ["b"], none_value: null },
  { x: false, u: ["p", "q"], cpus: 2 },
];

Deno.test("each nunjucks difference LAVA templates hit renders as in Python's Jinja2", async (t) => {
  const reference = new Jinja2Reference();
  const env = jinjaEnvironment([]);
  try {
    for (const [name, source] of Object.entries(SNIPPETS)) {
      await t.step(name, async () => {
        for (const context of CONTEXTS) {
          const expected = await reference.render({ paths: [], source, context });
          assertEquals({ output: env.renderString(source, context) }, expected, JSON.stringify(context));
        }
      });
    }
  } finally {
    await reference.close();
  }
});

/** Job contexts LAVA jobs send, covering the template branches. */
const JOB_CONTEXTS: Record<string, unknown>[] = [
  { arch: "amd64" },
  { arch: "amd64", no_kvm: true, memory: 2048, extra_options: ["-smp", 2], boot_console: "ttyS1" },
  { arch: "arm64", cpu: "cortex-a72", machine: "virt,gic-version=3", guestfs_interface: "scsi" },
  { arch: "arm", vga: "-vga none", serial: "-serial mon:stdio" },
  { arch: "i386", no_network: true },
  { arch: "riscv64", netdevice: "tap" },
  { arch: "x86_64", extra_kernel_args: "quiet", boot_character_delay: 50, console_device: "ttyS0" },
];

Deno.test("every example device dictionary renders byte for byte as Jinja2 renders it", async (t) => {
  const reference = new Jinja2Reference();
  const env = jinjaEnvironment(LAVA_PATHS);
  try {
    for (const [name] of exampleFiles("device-dicts", ".jinja2")) {
      const entry = { name };
      const hostname = entry.name.replace(/\.jinja2$/, "");
      await t.step(hostname, async () => {
        for (const job of JOB_CONTEXTS) {
          const context = { ...job, scheduled_device_name: hostname, scheduled_device_type: "t" };
          const expected = await reference.render({ paths: LAVA_PATHS, template: entry.name, context });
          assertEquals({ output: env.render(entry.name, context) }, expected, JSON.stringify(job));
        }
      });
    }
  } finally {
    await reference.close();
  }
});

Deno.test("Python repr and shlex quoting match Python's for awkward strings", () => {
  assertEquals(pythonRepr(["a'b", 'c"d', "e\\f\n", "both ' and \""]), `["a'b", 'c"d', 'e\\\\f\\n', 'both \\' and "']`);
  assertEquals(shlexQuote(""), "''");
  assertEquals(shlexQuote("safe/path-1.0"), "safe/path-1.0");
  assertEquals(shlexQuote("it's"), `'it'"'"'s'`);
  assertEquals(qemuGuestFsInterface("x86_64"), "ide");
});

Deno.test("a template cannot reach Function through constructor, as in Jinja2's sandbox", () => {
  const env = jinjaEnvironment([]);
  for (
    const source of [
      `{{ "".constructor.constructor("return 7*6")() }}`,
      `{{ [].map.constructor("return 7*6")() }}`,
      `{% set f = ''.__proto__ %}{{ f.constructor.constructor("return 7*6")() }}`,
      `{{ range.constructor("return 7*6")() }}`,
    ]
  ) {
    let output = "";
    try {
      output = env.renderString(source, {});
    } catch (error) {
      output = String(error);
    }
    assert(!output.includes("42"), `${source} ran code: ${output}`);
  }
});
