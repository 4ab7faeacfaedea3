import { assertEquals } from "../../tests/support/assert.ts";
import { formatPath, indentQuotedContinuations, lavaJson, loadYaml, positionOf } from "./yaml.ts";

Deno.test("a repeated key keeps its last value and is reported as a warning with both positions", () => {
  const loaded = loadYaml("test:\n  timeout:\n    minutes: 3\n  failure_retry: 3\n  timeout:\n    minutes: 10\n");
  assertEquals(loaded.errors, []);
  assertEquals(loaded.value, { test: { timeout: { minutes: 10 }, failure_retry: 3 } });
  assertEquals(loaded.warnings, [{
    message: 'duplicate key "timeout" (first at line 2): the last value is used',
    line: 5,
    column: 3,
    path: "test.timeout",
  }]);
});

Deno.test("YAML 1.1 booleans are booleans, as in PyYAML, but y and n stay strings", () => {
  const loaded = loadYaml("a: yes\nb: off\nc: True\nd: 'yes'\ne: 012\nf: n\ng: Y\n");
  assertEquals(loaded.value, { a: true, b: false, c: true, d: "yes", e: 10, f: "n", g: "Y" });
});

Deno.test("JSON is accepted as YAML", () => {
  const loaded = loadYaml('{"job_name": "j", "actions": [{"boot": {"method": "qemu"}}]}');
  assertEquals(loaded.value, { job_name: "j", actions: [{ boot: { method: "qemu" } }] });
  assertEquals(positionOf(loaded, ["actions", 0, "boot", "method"]), { line: 1, column: 51 });
});

Deno.test("positions are kept for keys and values at any depth", () => {
  const loaded = loadYaml("actions:\n- deploy:\n    to: tmpfs\n- boot:\n    method: qemu-foo\n");
  assertEquals(positionOf(loaded, ["actions", 1, "boot", "method"]), { line: 5, column: 13 });
  assertEquals(positionOf(loaded, ["actions", 1, "boot", "method"], true), { line: 5, column: 5 });
  assertEquals(positionOf(loaded, ["actions", 1, "boot", "missing"]), { line: 5, column: 5 });
  assertEquals(formatPath(["metadata", "a.b", "x y", 2]), 'metadata["a.b"]["x y"][2]');
});

Deno.test("syntax errors are reported with their position and no value", () => {
  const loaded = loadYaml("job_name: x\nactions: [\n  - a\n");
  assertEquals(loaded.value, undefined);
  assertEquals(loaded.errors.length > 0, true);
  assertEquals(typeof loaded.errors[0].line, "number");
});

Deno.test("a quoted scalar continued at the margin parses as PyYAML parses it", () => {
  const text =
    "constants:\n  barebox:\n    interrupt-character: '\n'\n    final-message: 'Starting\nkernel'\n  other: 1\n";
  const loaded = loadYaml(text);
  assertEquals(loaded.errors, []);
  assertEquals(loaded.value, {
    constants: { barebox: { "interrupt-character": " ", "final-message": "Starting kernel" }, other: 1 },
  });
});

Deno.test("block scalars and comments with quotes are left as they are", () => {
  const text = "script: |\n  echo 'it''s'\n  echo \"x\"\nnote: plain # it's a comment\nq: 'a'\n";
  assertEquals(indentQuotedContinuations(text), text);
  assertEquals(loadYaml(text).value, { script: "echo 'it''s'\necho \"x\"\n", note: "plain", q: "a" });
});

Deno.test("canonical JSON reads as its YAML does, with positions found when asked", () => {
  const value = { job_name: "j", actions: [{ deploy: { to: "tmpfs", n: 2.5 } }], yes: true };
  const text = lavaJson(value)!;
  assertEquals(text, JSON.stringify(value));
  const loaded = loadYaml(text);
  assertEquals(loaded.value, value);
  assertEquals(loaded.errors, []);
  assertEquals(positionOf(loaded, ["actions", 0, "deploy", "to"]), { line: 1, column: 44 });
});

Deno.test("JSON with a repeated key still warns of it, as its YAML does", () => {
  const loaded = loadYaml('{"a": 1, "a": 2}');
  assertEquals(loaded.value, { a: 2 });
  assertEquals(loaded.warnings.length, 1);
});

Deno.test("values JSON cannot carry exactly are not written as JSON", () => {
  for (const value of [{ t: new Date(0) }, { n: Infinity }, { n: -0 }, { n: 1e30 }, { u: undefined }, [1, undefined]]) {
    assertEquals(lavaJson(value), undefined, JSON.stringify(value));
  }
  assertEquals(lavaJson({ a: [1, "x", null, false, { b: 0.5 }] }), '{"a":[1,"x",null,false,{"b":0.5}]}');
});
