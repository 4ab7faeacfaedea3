import { assertEquals } from "../../tests/support/assert.ts";
import { describeMissing, missingMethods, parseCapabilities, requiredMethods } from "./methods.ts";

const job = {
  actions: [
    { deploy: { to: "tftp" } },
    { boot: { method: "u-boot", commands: "ramdisk" } },
    { test: { definitions: [] } },
    { deploy: { to: "tftp" } },
    { boot: { method: "grub" } },
    { test: { interactive: [] } },
    { test: { docker: { image: "x" }, definitions: [] } },
    { command: { name: "relay" } },
  ],
};

Deno.test("a job requires each deploy, boot and test method it uses, once", () => {
  assertEquals(requiredMethods(job), {
    deploy: ["tftp"],
    boot: ["u-boot", "grub"],
    test: ["definitions", "interactive", "docker"],
  });
  assertEquals(requiredMethods("not a job"), { deploy: [], boot: [], test: [] });
});

Deno.test("what a worker does not run is named as a job names it", () => {
  const worker = { deploy: ["tftp", "tmpfs"], boot: ["u-boot"], test: ["definitions"] };
  const missing = missingMethods(requiredMethods(job), worker);
  assertEquals(missing, [
    { section: "boot", method: "grub" },
    { section: "test", method: "interactive" },
    { section: "test", method: "docker" },
  ]);
  assertEquals(describeMissing(missing), "boot method grub, test interactive, test docker");
  assertEquals(missingMethods({ deploy: ["tftp"], boot: ["u-boot"], test: [] }, worker), []);
});

Deno.test("capabilities from a peer keep only plain, bounded method names", () => {
  assertEquals(parseCapabilities(undefined), undefined);
  assertEquals(parseCapabilities(["qemu"]), undefined);
  const parsed = parseCapabilities({
    deploy: ["tmpfs", "tmpfs", "../etc", "A B", 7, "x".repeat(65)],
    boot: Array.from({ length: 1000 }, (_, i) => `m${i}`),
    test: "definitions",
  })!;
  assertEquals(parsed.deploy, ["tmpfs"]);
  assertEquals(parsed.boot.length, 256);
  assertEquals(parsed.test, []);
});
