/**
 * The simulated board's power switch, as a lab's PDU command would be:
 *
 *   deno run -A worker/sim/power.ts SOCKET on|off|reset|state|fault NAME
 *
 * Exits 1 (the "PDU" failed) when the board's control socket does not answer.
 */
const [socket, ...command] = Deno.args;
if (!socket || command.length === 0) {
  console.error("usage: power.ts SOCKET on|off|reset|state|fault NAME");
  Deno.exit(2);
}
try {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(new TextEncoder().encode(command.join(" ") + "\n"));
  const buffer = new Uint8Array(256);
  const n = await conn.read(buffer);
  conn.close();
  const reply = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).trim();
  console.log(reply);
  Deno.exit(reply === "ok" || command[0] === "state" || reply === "already on" ? 0 : 1);
} catch (error) {
  console.error(`power: no answer from ${socket}: ${(error as Error).message}`);
  Deno.exit(1);
}
