/** Choosing where a server the dispatcher or a test starts listens: a free port, and an address the device reaches. */
import { InfrastructureError } from "../job/errors.ts";

/**
 * A TCP port on `hostname` (loopback unless given) that is free now and that the kernel will not hand out as
 * the source port of an outgoing connection: it lies below the ephemeral range.
 * A port from the kernel's own `port: 0` is in that range, so a client connecting
 * anywhere between our choosing it and a server binding it could take it first.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const lowestEphemeral = ephemeralRangeStart();
  const lowest = Math.min(20_000, lowestEphemeral - 1_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lowest + Math.floor(Math.random() * (lowestEphemeral - lowest));
    try {
      Deno.listen({ hostname, port }).close();
      return port;
    } catch {
      // Taken: try another.
    }
  }
  throw new InfrastructureError(`no free TCP port on ${hostname} between ${lowest} and ${lowestEphemeral}`);
}

function ephemeralRangeStart(): number {
  try {
    const first = Number.parseInt(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range"), 10);
    if (Number.isInteger(first) && first > 2_048) return first;
  } catch {
    // Not Linux, or /proc unreadable: the kernel's usual default.
  }
  return 32_768;
}

/**
 * The address to listen on for a device that reaches the worker at `advertised`
 * (the dispatcher configuration's address): that one when it is this machine's,
 * else every address — a device behind QEMU's user network reaches the worker's
 * loopback at 10.0.2.2, which no interface here carries.
 */
export function listenAddress(advertised: string): string {
  try {
    Deno.listen({ hostname: advertised, port: 0 }).close();
    return advertised;
  } catch {
    return advertised.includes(":") ? "::" : "0.0.0.0";
  }
}
