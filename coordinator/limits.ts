/**
 * The coordinator's bounds: what one peer, one group or all of them together
 * may hold. LAVA's coordinator has none; its clients stay far inside these
 * (a message is at most 0xFFFE bytes, a group a few dozen nodes), so a peer
 * that reaches one is broken or hostile. Documented in coordinator/README.md.
 */

export interface CoordinatorLimits {
  /** The longest request payload, in bytes: LAVA's clients refuse to send more than 0xFFFE. */
  readonly maxFrameBytes: number;
  /** A request must arrive whole within this time of connecting. */
  readonly frameTimeoutMs: number;
  /** A reply not taken by the peer within this time closes its connection. */
  readonly replyTimeoutMs: number;
  /** Open connections in all, and from one address. */
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** The longest a request may be held (`hold_ms`). */
  readonly maxHoldMs: number;
  /** Groups in all, and created from one address and not yet gone. */
  readonly maxGroups: number;
  readonly maxGroupsPerAddress: number;
  /** The largest `group_size`. */
  readonly maxGroupSize: number;
  /** A group's stored size (its JSON), and all groups' together, in bytes. */
  readonly maxGroupBytes: number;
  readonly maxStoredBytes: number;
  /** The longest name: group, client, host name, role, message id. */
  readonly maxNameLength: number;
  /** How deeply a request's JSON may nest. */
  readonly maxDepth: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: CoordinatorLimits = {
  maxFrameBytes: 64 * 1024,
  frameTimeoutMs: 10_000,
  replyTimeoutMs: 30_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 256,
  maxHoldMs: 60_000,
  maxGroups: 4096,
  maxGroupsPerAddress: 1024,
  maxGroupSize: 1024,
  maxGroupBytes: 1 * MiB,
  maxStoredBytes: 256 * MiB,
  maxNameLength: 1024,
  maxDepth: 32,
};

/**
 * Whether JSON text nests deeper than `max`, found by scanning the text: parsing
 * a deeply nested megabyte costs JSON.parse half a second, the scan a few ms.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
