/**
 * The libc calls Basalt's worker makes through FFI, opened once per process (at first use):
 * byte I/O and poll for serial lines, and pidfd for watching processes that are
 * not (or no longer) our children. `poll` runs on a helper thread so waiting
 * never blocks the event loop.
 */

const SYMBOLS = {
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  syscall: { parameters: ["i64", "i64", "i64"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let opened: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/**
 * Opened at the first call, not when imported: most dispatch processes (one per
 * job) open no serial line and watch no process.
 */
export const libc = {
  get symbols(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
    return (opened ??= Deno.dlopen("libc.so.6", SYMBOLS)).symbols;
  },
};

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const EAGAIN = 11;
export const EINTR = 4;

export function errno(): number {
  const pointer = libc.symbols.__errno_location();
  return pointer ? new Deno.UnsafePointerView(pointer).getInt32() : 0;
}

/** Waits up to `timeoutMs` (-1: for ever) for `events` on `fd`; the events that happened, or 0. */
export async function pollFd(fd: number, events: number, timeoutMs: number): Promise<number> {
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  const ready = await libc.symbols.poll(pollfd, 1n, timeoutMs);
  return ready > 0 ? view.getInt16(6, true) : 0;
}
