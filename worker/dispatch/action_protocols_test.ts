import { assertEquals } from "../../tests/support/assert.ts";
import { replaceableValues } from "./action_protocols.ts";

Deno.test("a wait keeps the values of the keys marked replaceable, from the first sender that has them", () => {
  const missing: string[] = [];
  const data = replaceableValues(
    { ipaddr: "$ipaddr", port: "$port", fixed: "22", absent: "$absent" },
    { "41": { ipaddr: "10.0.0.5" }, "42": { ipaddr: "10.0.0.6", port: "2222" } },
    (key) => missing.push(key),
  );
  assertEquals(data, { ipaddr: "10.0.0.5", port: "2222" });
  assertEquals(missing, ["absent"]);
  assertEquals(replaceableValues({ ipaddr: "$ipaddr" }, "nack"), {});
});
