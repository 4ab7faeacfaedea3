import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { ConnectionSpecError, parseConnection } from "./connection.ts";

Deno.test("a connection command may be a serial URI, a TCP URI or a shell command", () => {
  assertEquals(parseConnection("serial:///dev/ttyUSB0?baud=115200&parity=even&databits=7&stopbits=2"), {
    kind: "serial",
    path: "/dev/ttyUSB0",
    settings: { baudRate: 115200, dataBits: 7, stopBits: 2, parity: "even" },
  });
  assertEquals(parseConnection("serial:///dev/serial/by-id/usb-FTDI_A%20B-if00"), {
    kind: "serial",
    path: "/dev/serial/by-id/usb-FTDI_A B-if00",
    settings: { baudRate: undefined, dataBits: undefined, stopBits: undefined, parity: undefined },
  });
  assertEquals(parseConnection("tcp://ser2net.lab:7001"), { kind: "tcp", hostname: "ser2net.lab", port: 7001 });
  assertEquals(parseConnection("telnet localhost 7001"), { kind: "command", command: "telnet localhost 7001" });
});

Deno.test("a malformed connection URI is refused with what is wrong", () => {
  assertThrows(() => parseConnection("serial:///dev/ttyS0?baud=fast"), ConnectionSpecError, "baud=fast");
  assertThrows(() => parseConnection("serial:///dev/ttyS0?stopbits=3"), ConnectionSpecError, "stopbits=3");
  assertThrows(() => parseConnection("serial:///dev/ttyS0?flow=rts"), ConnectionSpecError, "unknown setting flow");
  assertThrows(() => parseConnection("tcp://ser2net.lab"), ConnectionSpecError, "host and a port");
});
