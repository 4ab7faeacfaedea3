import { assertEquals } from "../../tests/support/assert.ts";
import { pythonJson } from "./python_json.ts";

Deno.test("JSON is written byte for byte as Python's json.dumps writes it", async () => {
  const samples: unknown[] = [
    { response: "ack", message: { "2": { k: "v" }, "3": { name: "hello world" } } },
    { response: "group_data", roles: { "10": "server", "11": "client" } },
    ["caf\u00e9", "\u{1F600}", 'quote " and \\ and \n\t', 1.5, -3, true, false, null],
    {},
    [],
  ];
  for (const sample of samples) {
    const python = new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import json, sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read())))"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = python.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(sample)));
    await writer.close();
    const expected = new TextDecoder().decode((await python.output()).stdout);
    assertEquals(pythonJson(sample), expected);
  }
});
