import { assertEquals } from "../../tests/support/assert.ts";
import { signalChild } from "./signal_child.ts";

Deno.test("signalling a child that has already ended answers false instead of throwing", async () => {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  assertEquals(signalChild(child, "SIGKILL"), false);
});

Deno.test("signalling a running child stops it and answers true", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  assertEquals(signalChild(child, "SIGTERM"), true);
  assertEquals((await child.status).signal, "SIGTERM");
});
