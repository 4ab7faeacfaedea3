import { assertEquals } from "../../tests/support/assert.ts";
import { MAX_LINE } from "./console.ts";
import { lines } from "./transports.ts";

Deno.test("a stream's lines are bounded: one without an end comes in MAX_LINE pieces, nothing lost", async () => {
  const text = "a".repeat(MAX_LINE * 3 + 5) + "\nshort\nlast";
  const stream = new Blob([text]).stream();
  const found: string[] = [];
  for await (const line of lines(stream)) found.push(line);
  assertEquals(found.map((l) => l.length), [MAX_LINE, MAX_LINE, MAX_LINE, 5, 5, 4]);
  assertEquals(found.join(""), text.replaceAll("\n", ""));
});
