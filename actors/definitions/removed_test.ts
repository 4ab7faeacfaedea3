import { assertEquals } from "../../tests/support/assert.ts";
import { removedFeatures } from "./removed.ts";

Deno.test("LXC deploys, boots and protocols are found where they are, and nothing else is", () => {
  const job = {
    protocols: { "lava-lxc": { name: "c", distribution: "debian", release: "sid" } },
    actions: [{ deploy: { to: "lxc" } }, { boot: { method: "lxc" } }, { deploy: { to: "tmpfs" } }, "odd"],
  };
  assertEquals(removedFeatures(job).map((f) => f.path), [
    ["protocols", "lava-lxc"],
    ["actions", 0, "deploy", "to"],
    ["actions", 1, "boot", "method"],
  ]);
  assertEquals(removedFeatures({ actions: [{ boot: { method: "qemu" } }] }), []);
  assertEquals(removedFeatures("not a job"), []);
});
