import { parse } from "yaml";
import { assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { ser2netConfig, udevRules } from "./serial_config.ts";

const PORTS = [
  { path: "/dev/ttyUSB0", vendorId: "0403", productId: "6001", serialNumber: "A10K3C4E", manufacturer: "FTDI" },
  { path: "/dev/ttyS0" },
];

Deno.test("udev rules name each USB adapter by its serial number and say which ports cannot be named", () => {
  const rules = udevRules(PORTS);
  assertStringIncludes(
    rules,
    'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="A10K3C4E", ' +
      'SYMLINK+="board-A10K3C4E"',
  );
  assertStringIncludes(rules, "# /dev/ttyS0: no USB vendor");
});

Deno.test("the ser2net configuration is ser2net 4 YAML with one port per board", () => {
  const text = ser2netConfig(PORTS, { firstPort: 7001 });
  // ser2net reads several documents' worth of `connection:` keys; each must parse on its own.
  const documents = text.split("\n\n").slice(1).map((block) => parse(block).connection);
  assertEquals(documents.map((c) => [c.accepter, c.connector]), [
    ["telnet,tcp,127.0.0.1,7001", "serialdev,/dev/board-A10K3C4E,115200n81,local"],
    ["telnet,tcp,127.0.0.1,7002", "serialdev,/dev/ttyS0,115200n81,local"],
  ]);
});
