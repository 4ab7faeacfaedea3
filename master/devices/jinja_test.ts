/**
 * The renderer against Python's Jinja2 in LAVA's environment: each case renders
 * here and in Python, and the outputs must be equal — or both must fail. The
 * cases cover the grammar, Jinja2's scoping, Python's values, the filters and
 * tests, and template inheritance; tests/template_corpus_test.ts covers LAVA's
 * own templates.
 */
import { join } from "../../actors/path.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { Jinja2Reference, type ReferenceRequest, type ReferenceResult } from "../../tests/support/jinja2_reference.ts";
import { exampleFiles, LAVA_EXAMPLES, testWithExamples } from "../../tests/support/lava_examples.ts";
import {
  type JinjaEnvironment,
  jinjaEnvironment,
  pythonRepr,
  qemuGuestFsInterface,
  shlexQuote,
  yamlQuote,
} from "./jinja.ts";

const LAVA_PATHS = [`${LAVA_EXAMPLES}device-dicts`, `${LAVA_EXAMPLES}device-types`];

/** Each snippet exercises one part of Jinja2; the name says which. */
const SNIPPETS: Record<string, string> = {
  "adjacent string literals are one string": `{% set c = ["a" "b", 'c' "d" 'e'] %}{{ c }} {{ "x" 'y' }}`,
  "trailing commas in lists, tuples, dicts and calls":
    "{{ [1, 2, ] }} {{ (1, ) }} {{ (1, 2, ) }} {{ {'a': 1, } }} {{ dict(a=1, ) }} {{ 'a-b'.split('-', ) }}",
  "a set in a block is not seen by a block nested in it":
    "{% block outer %}{% set console = 'ttyS0' %}[{% block inner %}console={{ console }},{% endblock %}]{% endblock %}",
  "a scoped block sees the loop around it":
    "{% for item in [1, 2] %}{% block each scoped %}<{{ item }}>{% endblock %}{% endfor %}",
  "a set in a loop body does not outlive the iteration":
    "{% set x = 'out' %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }} {% endfor %}{{ x }}",
  "a name set later in the template is not yet set where a loop reads it":
    "{% for i in [1] %}[{{ x }}]{% endfor %}{% set x = 'late' %}{{ x }}",
  "a set inside if is seen after it, an unset branch reads the context":
    "{% if x %}{% set y = 'set' %}{% endif %}[{{ y }}]{% if not x %}{% set z = 1 %}{% else %}{% set z = 2 %}{% endif %}{{ z }}",
  "a macro reads the template's variables when called":
    "{% macro m() %}{{ x }}{% endmacro %}{% set x = 1 %}{{ m() }}{% set x = 2 %}{{ m() }}",
  "macro arguments, defaults, varargs, kwargs and caller":
    "{% macro m(a, b=a ~ '!') %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% if caller %}{{ caller(1) }}{% endif %}{% endmacro %}" +
    "{{ m(1) }} {{ m(1, 2, 3, k=4) }} {% call(n) m('c') %}called {{ n }}{% endcall %}",
  "a macro given too many arguments fails": "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
  "Undefined prints as nothing alone and as Undefined inside lists and dicts":
    "{{ [missing] }} {{ {'k': missing} }} {{ (missing,) }} [{{ missing }}] {{ [none_value] }}",
  "Python's str() and repr() of values":
    `{{ ["it's", 'say "hi"', 'both \\' "', 'tab\\tnl\\n'] }} {{ 1.0 }} {{ 1e16 }} {{ 0.0001 }} {{ 1e-5 }} ` +
    "{{ 10 / 4 }} {{ 2 ** -1 }} {{ True }} {{ [1.5, -0.0] }} {{ {1: 'a', 'b': None} }} {{ 1e100 }} {{ 123456789.125 }}",
  "truth, and, or, not": "{% if []|default([]) %}A{% else %}B{% endif %}{% if {} %}C{% endif %}" +
    "{% if not [] %}D{% endif %}{{ [] or 'E' }}{{ [1] and 'F' }}{{ 'G' if {} else 'H' }}{{ 0 or '' or none }}",
  "comparison chains, in, not in, equality across types":
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ 'a' in 'cat' }} {{ 2 not in [1] }} {{ 'k' in {'k': 1} }} " +
    "{{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }} {{ (1,) == [1] }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}",
  "arithmetic as Python's": "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ 2 ** 10 }} " +
    "{{ 1 + 2 * 3 - 4 / 2 }} {{ 'ab' * 3 }} {{ [0] * 3 }} {{ 3 * 'x' }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 1 ~ 2 ~ none }}",
  "adding a string and a number fails": "{{ 'a' + 1 }}",
  "string formatting with % and format":
    `{{ "%s-%d-%05.2f-%x-%r" % ('a', 42, 3.14159, 255, 'q') }} {{ "%(a)s" % {'a': 1} }} ` +
    `{{ "{}|{:>6}|{:.2f}|{!r}".format('a', 'b', 2.5, 'c') }} {{ "%s"|format([1]) }} {{ "%5.1e %g" % (12345.678, 0.0001) }}`,
  "string methods": "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(None, 1) }} " +
    "{{ 'a b c'.rsplit(' ', 1) }} {{ ' x '.strip() }} {{ 'xxhixx'.strip('x') }} {{ 'hello world'.title() }} " +
    "{{ 'abc'.startswith(('x', 'a')) }} {{ '-'.join(['a', 'b']) }} {{ 'abc'.upper().find('C') }} " +
    "{{ 'a\\r\\nb\\n\\nd\\n'.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }} {{ '42'.zfill(5) }} {{ 'ab'.center(7, '*') }} {{ 'a=b=c'.partition('=') }}",
  "list and dict methods change them as in Python":
    "{% set l = [3, 1] %}{% set _ = l.append(2) %}{% set _ = l.extend([0]) %}{{ l }} {{ l|sort }} {{ l.index(1) }} " +
    "{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}) %}{{ d }} {{ d.items()|list }} {{ d.keys() }} " +
    "{{ d.get('z', 'no') }} {{ d.pop('a') }} {{ d }} {{ d.setdefault('c', 3) }} {{ d }} {{ d['items'] is defined }}",
  "namespace and the loop variable":
    "{% set ns = namespace(total=0) %}{% for i in range(1, 5) %}{% set ns.total = ns.total + i %}" +
    "{{ loop.index }}/{{ loop.length }}{{ loop.first }}{{ loop.last }}{{ loop.revindex }}{{ loop.cycle('a', 'b') }}" +
    "{{ loop.previtem }}{{ loop.changed(i // 2) }} {% endfor %}{{ ns.total }}",
  "loop else, loop filter and unpacking":
    "{% for k, v in {'b': 2, 'a': 1}.items() if v > 1 %}{{ k }}={{ v }} {{ loop.length }}{% else %}none{% endfor %}|" +
    "{% for x in [] %}x{% else %}empty{% endfor %}|{% for a, (b, c) in [(1, (2, 3))] %}{{ a }}{{ b }}{{ c }}{% endfor %}",
  "recursive loops":
    "{% for item in [{'n': 'a', 'c': [{'n': 'b', 'c': []}]}] recursive %}{{ item.n }}{{ loop.depth }}({{ loop(item.c) }}){% endfor %}",
  "filters": "{{ [3, 1, 2]|sort|join(',') }} {{ ['b', 'A', 'a']|sort }} {{ ['b', 'A']|sort(case_sensitive=true) }} " +
    "{{ [1, 2, 2]|unique|list }} {{ 'abc'|list }} {{ [1, 2]|first }} [{{ []|first }}] {{ 'hello'|capitalize }} " +
    "{{ 'a-b c'|title }} {{ '42'|int + 1 }} {{ 'x'|int(7) }} {{ '3.5'|float }} {{ 3.7|int }} {{ -3|abs }} " +
    "{{ [1, 2, 3]|sum }} {{ [1, 3, 2]|max }} {{ {'b': 1, 'a': 2}|dictsort }} {{ [{'a': 1}, {'a': 2}]|map(attribute='a')|list }} " +
    "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('even')|list }} {{ ['a', 'b']|map('upper')|list }} " +
    `{{ [1, [2]]|tojson }} {{ {'b': 1, 'a': "<'&>"}|tojson }} {{ 'a\\nb'|indent(2, true) }} {{ 'abc'|reverse }} ` +
    "{{ 2.5|round }} {{ 2.567|round(2) }} {{ 'abcdefghijklmnop'|truncate(9) }} {{ 1048576|filesizeformat }} " +
    "{{ 'a b c'|wordcount }} {{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ {'a': 1}|items|list }} {{ none|string }} {{ 5|string }}",
  "tests": "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ x is defined }} {{ none is none }} " +
    "{{ 'a' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} " +
    "{{ true is boolean }} {{ 'A' is upper }} {{ 1 is in [1] }} {{ 2 is gt 1 }} {{ 'upper' is filter }} " +
    "{{ 'odd' is test }} {{ range is callable }} {{ x is sameas true }} {{ x is not sameas false }} {{ missing is iterable }}",
  "conditional expressions": "{{ 'a' if x else 'b' }} [{{ 'a' if x }}] {{ 'y' if x is defined and x else 'n' }}",
  "set blocks and filter blocks":
    "{% set text %}some {{ 'thing' }}{% endset %}{{ text|upper }} {% set f | upper %}abc{% endset %}{{ f }} " +
    "{% filter replace('a', 'b') %}aaa{% endfilter %}",
  "with blocks and self": "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{% block x %}X{% endblock %}{{ self.x() }}",
  "whitespace control and trim_blocks":
    "a  {%- if true %} b {% endif -%}  c\n{%+ if true %}d{% endif %}\n{# c -#}  e {{- ' f ' -}} g\n" +
    "{% raw %}{{ x }}{% endraw %}\n{% if 1 %}\nkept\n{% endif %}\n",
  "Undefined is empty, false and iterable, and nothing else": "{{ missing|default('d') }}{{ missing|length }}" +
    "{{ missing|join }}{{ missing|upper }}{% for x in missing %}x{% endfor %}{{ missing == missing }}{{ 'a' in missing }}",
  "an attribute of Undefined fails": "{{ missing.attr }}",
  "arithmetic on Undefined fails": "{{ missing + 1 }}",
  "int of Undefined fails": "{{ missing|int }}",
  "a dict literal keeps insertion order and the last of a repeated key":
    "{{ {'b': 1, 'a': 2, 'b': 3} }} {{ {2: 'x', 1: 'y'} }}",
  "indexes and slices as Python's": "{{ 'abcdef'[1] }} {{ 'abcdef'[-1] }} {{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} " +
    "{{ [1, 2, 3][1:] }} [{{ 'abc'[10] }}|{{ [1][5] }}|{{ {'a': 1}['b'] }}|{{ {'a': 1}.b }}|{{ none.x }}]",
  "range, dict, cycler and joiner":
    "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(3) }} {{ dict(a=1, b=2) }} " +
    "{% set c = cycler('x', 'y') %}{{ c.next() }}{{ c.next() }}{{ c.next() }} " +
    "{% set j = joiner('|') %}{% for i in [1, 2, 3] %}{{ j() }}{{ i }}{% endfor %}",
  "an unknown filter inside an if fails only when reached": "{% if false %}{{ x|nosuchfilter }}{% endif %}ok",
  "an unknown filter fails": "{{ x|nosuchfilter }}",
  "an unclosed tag fails": "{% if x %}a",
  "an unbalanced bracket fails": "{{ (1, 2 }}",
  "an assignment to a literal fails": "{% set 1 = 2 %}",
  "an end tag without its start fails": "{% endfor %}",
  "a nested dict literal may close a set tag": "{% set c = {'a': {'do': 'x'},\n 'b': {'do': 'y'}}%}{{ c.b.do }}",
  "a test takes one argument without parentheses":
    "{% if v is sameas true %}yes{% endif %}{% if w is not sameas false %}no{% endif %}{{ 10 is divisibleby 5 }}",
  "LAVA's extra filters": "{{ \"it's a test\"|shlex_quote }} {{ 'amd64'|qemu_guest_fs_interface(none) }} " +
    "{{ 'arm64'|qemu_guest_fs_interface('') }} {{ 'arm64'|qemu_guest_fs_interface('scsi') }} " +
    "{{ 'Hit any key'|yaml_quote }} {{ 'é \"q\" \\t'|yaml_quote }} {{ [1, 'a', 1.5, none, true]|yaml_quote }} " +
    "{{ {'b': 1, 'a': [2]}|yaml_quote }} {{ ''|shlex_quote }}",
  "the sandbox hides private and internal attributes":
    "[{{ ''.__class__ }}][{{ x.__class__ }}][{{ {'_k': 1}._k }}][{{ [].__len__ }}][{{ range.__call__ }}]",
};

const CONTEXTS: Record<string, unknown>[] = [
  {},
  { v: true, w: true, x: true, none_value: null },
  { x: "ctx", w: false },
];

async function reference(): Promise<Jinja2Reference> {
  return await Promise.resolve(new Jinja2Reference());
}

function basalt(env: JinjaEnvironment, request: ReferenceRequest): ReferenceResult {
  try {
    return {
      output: request.template !== undefined
        ? env.render(request.template, request.context)
        : env.renderString(request.source!, request.context),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

/** Equal outputs, or a failure on both sides. */
function assertSame(ours: ReferenceResult, theirs: ReferenceResult, note: string): void {
  if ("error" in theirs || "error" in ours) {
    assert(
      "error" in theirs && "error" in ours,
      `${note}: Jinja2 ${JSON.stringify(theirs)}, Basalt ${JSON.stringify(ours)}`,
    );
    return;
  }
  assertEquals(ours, theirs, note);
}

Deno.test("each part of Jinja2 LAVA's templates can use renders as in Python's Jinja2, or fails as there", async (t) => {
  const jinja2 = await reference();
  const env = jinjaEnvironment([]);
  try {
    for (const [name, source] of Object.entries(SNIPPETS)) {
      await t.step(name, async () => {
        for (const context of CONTEXTS) {
          const request = { paths: [], source, context };
          assertSame(basalt(env, request), await jinja2.render(request), JSON.stringify(context));
        }
      });
    }
  } finally {
    await jinja2.close();
  }
});

/** Template files for inheritance, includes and imports: name → text. */
const FILES: Record<string, string> = {
  "base.jinja2": "{% set parent_only = 'p' %}{% set shared = shared | default('base') %}{% set forced = 'base' %}\n" +
    "head {{ shared }} {{ forced }}\n{% block a %}A{{ parent_only }}{% endblock %}\n" +
    "{% block b %}B{% block inner %}I{{ local|default('-') }}{% endblock %}{% endblock %}\n" +
    "{% include 'part.jinja2' %}\n{% block c required %}{% endblock %}tail",
  "child.jinja2":
    "{% extends 'base.jinja2' %}{% set shared = 'child' %}{% set forced = 'child' %}dropped {{ shared }}\n" +
    "{% block a %}[{{ super() }}|{{ self.b() }}]{% endblock %}{% block b %}{% set local = 'L' %}{{ super() }}{% endblock %}" +
    "{% block c %}C{% endblock %}{% include 'part.jinja2' %}",
  "grandchild.jinja2": "{% extends 'child.jinja2' %}{% block inner %}G{{ super() }}{% endblock %}",
  "missing-required.jinja2": "{% extends 'base.jinja2' %}",
  "twice.jinja2": "{% extends 'base.jinja2' %}{% extends 'child.jinja2' %}",
  "part.jinja2": "(part {{ shared }} {{ mine|default('no') }})",
  "macros.jinja2":
    "{% set exported = 'e' %}{% set _hidden = 'h' %}{% macro hello(n) %}hello {{ n }} {{ shared }}{% endmacro %}",
  "uses.jinja2":
    "{% set mine = 'm' %}{% import 'macros.jinja2' as lib %}{% from 'macros.jinja2' import hello, exported %}" +
    "{% from 'macros.jinja2' import hello as h2 with context %}{{ lib.hello(1) }} {{ hello(2) }} {{ h2(3) }} {{ exported }} " +
    "[{{ lib._hidden }}] {% for mine in ['loop'] %}{% include 'part.jinja2' %}{% endfor %} {% include 'part.jinja2' without context %}" +
    "{% include ['nope.jinja2', 'part.jinja2'] %}{% include 'nope.jinja2' ignore missing %}",
  "unknown-import.jinja2": "{% from 'macros.jinja2' import nothing %}[{{ nothing }}]",
  "include-missing.jinja2": "{% include 'nope.jinja2' %}",
};

Deno.test("templates extend, include and import each other as in Python's Jinja2", async (t) => {
  const dir = Deno.makeTempDirSync({ prefix: "basalt-jinja-" });
  const jinja2 = await reference();
  try {
    for (const [name, text] of Object.entries(FILES)) Deno.writeTextFileSync(join(dir, name), text);
    const env = jinjaEnvironment([dir]);
    for (const name of Object.keys(FILES)) {
      await t.step(name, async () => {
        for (const context of [{}, { shared: "ctx", mine: "job" }]) {
          const request = { paths: [dir], template: name, context };
          assertSame(basalt(env, request), await jinja2.render(request), JSON.stringify(context));
        }
      });
    }
  } finally {
    await jinja2.close();
    Deno.removeSync(dir, { recursive: true });
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

testWithExamples("every example device dictionary renders byte for byte as Jinja2 renders it", async (t) => {
  const jinja2 = await reference();
  const env = jinjaEnvironment(LAVA_PATHS);
  try {
    for (const [name] of exampleFiles("device-dicts", ".jinja2")) {
      const hostname = name.replace(/\.jinja2$/, "");
      await t.step(hostname, async () => {
        for (const job of JOB_CONTEXTS) {
          const context = { ...job, scheduled_device_name: hostname, scheduled_device_type: "t" };
          const request = { paths: LAVA_PATHS, template: name, context };
          assertEquals(basalt(env, request), await jinja2.render(request), JSON.stringify(job));
        }
      });
    }
  } finally {
    await jinja2.close();
  }
});

Deno.test("Python repr, shlex quoting and LAVA's filters match Python's for awkward values", () => {
  assertEquals(pythonRepr(["a'b", 'c"d', "e\\f\n", "both ' and \""]), `["a'b", 'c"d', 'e\\\\f\\n', 'both \\' and "']`);
  assertEquals(pythonRepr("\u00a0\u2028\x7f"), "'\\xa0\\u2028\\x7f'");
  assertEquals(shlexQuote(""), "''");
  assertEquals(shlexQuote("safe/path-1.0"), "safe/path-1.0");
  assertEquals(shlexQuote("it's"), `'it'"'"'s'`);
  assertEquals(yamlQuote("a\u2028é"), '"a\\L\\xE9"');
  assertEquals(qemuGuestFsInterface("x86_64", null), "ide");
  assertEquals(qemuGuestFsInterface("arm64", ""), "virtio");
});

Deno.test("a template cannot reach Function through constructor, as in Jinja2's sandbox", () => {
  const env = jinjaEnvironment([]);
  for (
    const source of [
      `{{ "".constructor.constructor("return 7*6")() }}`,
      `{{ [].map.constructor("return 7*6")() }}`,
      `{% set f = ''.__proto__ %}{{ f.constructor.constructor("return 7*6")() }}`,
      `{{ range.constructor("return 7*6")() }}`,
      `{{ ''['constructor']['constructor']("return 7*6")() }}`,
      `{{ {}.__proto__ }}{{ dict.prototype }}{{ self.__proto__ }}`,
      `{{ namespace().constructor }}{{ cycler(1).next.constructor("return 7*6")() }}`,
    ]
  ) {
    let output = "";
    try {
      output = env.renderString(source, {});
    } catch (error) {
      output = String(error);
    }
    assert(
      !output.includes("42") && !output.includes("[native code]") && !output.includes("[object"),
      `${source}: ${output}`,
    );
  }
});

Deno.test("a template that would run for hours or allocate gigabytes fails at once, naming the bound", () => {
  const env = jinjaEnvironment([]);
  const started = performance.now();
  for (
    const [source, bound] of [
      ["{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "1000000 loop iterations"],
      ["{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "recursion"],
      ["{{ 'x' * 1000000000 }}", "at most 10000000"],
      ["{{ [0] * 1000000000 }}", "at most 10000000"],
    ]
  ) {
    let error = "";
    try {
      env.renderString(source, {});
    } catch (e) {
      error = String(e);
    }
    assert(error.includes(bound), `${source}: ${error}`);
  }
  // Whitespace stripped before a `{%-` tag, and split on whitespace, in linear time.
  const spaces = " ".repeat(300_000);
  assertEquals(env.renderString(`${spaces}x${spaces}{%- if 1 %}y{% endif %}`, {}).length, 300_002);
  assertEquals(
    env.renderString("{{ s.split()|length }}{{ s.strip()|length }}", { s: `${spaces}x${spaces}x` }),
    "2300002",
  );
  assert(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
});
