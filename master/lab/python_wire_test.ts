import { assertEquals } from "../../tests/support/assert.ts";
import { pythonForm, pythonJson, pythonTime } from "./python_wire.ts";

// The reference is Python's own `requests` (LAVA's callbacks send with it), run on the same value.
async function python(script: string, input: unknown): Promise<string> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout);
}

const SAMPLE = {
  id: 12,
  status: 2,
  status_string: "complete",
  failure_comment: null,
  is_public: true,
  description: "boot & test: ünïcode ✓ 'quoted' (x) *~",
  metadata: { "kernel.version": "6.1", build: "a/b c" },
  results: { "0_smoke": "- name: a\n  result: pass\n", lava: "[]\n" },
  tags: ["x y", "z"],
  attributes: [{ "kernel.version": "6.1" }, { board: "x" }],
};

Deno.test("a form body is what Python's requests encodes from the same dict", async () => {
  const expected = await python(
    "import sys, json, requests\n" +
      "d = json.load(sys.stdin)\n" +
      "sys.stdout.write(requests.Request('POST', 'http://x/', data=d).prepare().body)",
    SAMPLE,
  );
  assertEquals(pythonForm(SAMPLE), expected);
});

Deno.test("a JSON body is byte for byte what Python's requests sends from the same dict", async () => {
  const expected = await python(
    "import sys, json, requests\n" +
      "d = json.load(sys.stdin)\n" +
      "sys.stdout.write(requests.Request('POST', 'http://x/', json=d).prepare().body.decode())",
    SAMPLE,
  );
  assertEquals(pythonJson(SAMPLE), expected);
});

Deno.test("a time is spelled as Python's str() of an aware datetime", () => {
  assertEquals(pythonTime(new Date("2026-12-04T13:00:00.123Z")), "2026-12-04 13:00:00.123000+00:00");
  assertEquals(pythonTime(new Date("2026-12-04T13:00:00Z")), "2026-12-04 13:00:00+00:00");
  assertEquals(pythonTime(null), "None");
});
