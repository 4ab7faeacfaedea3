import { assertEquals } from "../../tests/support/assert.ts";
import { refusedGuestTarget } from "./ssh.ts";

Deno.test("an SSH guest logs only into its host device's address or an outside IP address another job sent", () => {
  // The device's own configured address, whatever it is (the tests' ssh device is this machine's loopback).
  assertEquals(refusedGuestTarget("127.0.0.1", ["127.0.0.1", undefined]), undefined);
  assertEquals(refusedGuestTarget("192.0.2.10", [undefined, undefined]), undefined);
  assertEquals(refusedGuestTarget("2001:db8::7", [undefined]), undefined);
  for (const address of ["127.0.0.1", "0.0.0.0", "169.254.1.1", "224.0.0.1", "::1", "fe80::1", "::ffff:127.0.0.1"]) {
    assertEquals(refusedGuestTarget(address, [undefined]), "a loopback, link-local or special address", address);
  }
  assertEquals(refusedGuestTarget("300.1.1.1", []), "not an IP address");
  assertEquals(refusedGuestTarget("worker.lab", []), "not an IP address (a name could resolve anywhere)");
  // Any of this worker's own interfaces.
  const own = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."));
  if (own) assertEquals(refusedGuestTarget(own.address, []), "this worker's own address");
});
